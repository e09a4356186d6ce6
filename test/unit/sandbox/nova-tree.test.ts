// The fake nova's metadata tree against nova's own rendering rules
// (nova/api/metadata/base.py): paths, listings, versions, types.
import { describe, expect, it } from 'vitest';
import { defaultInstance, novaLookup, type NovaInstance } from '../../../src/sandbox/nova-tree.js';

const instance: NovaInstance = {
  ...defaultInstance('0b5c3f1e-aaaa-bbbb-cccc-000000000001', 'proj-1'),
  userData: '#cloud-config\n',
  keypair: { name: 'key1', type: 'ssh', publicKey: 'ssh-ed25519 AAAA k@h' },
  files: [{ path: '/etc/motd', contents: 'hello' }],
};
const get = (url: string, remoteAddress?: string) =>
  novaLookup(instance, { method: 'GET', url, body: '', remoteAddress });

describe('nova metadata tree', () => {
  it('lists the EC2 versions at / and the OpenStack ones at /openstack', () => {
    expect(get('/').body.split('\n')).toEqual([
      '1.0',
      '2007-01-19',
      '2007-03-01',
      '2007-08-29',
      '2007-10-10',
      '2007-12-15',
      '2008-02-01',
      '2008-09-01',
      '2009-04-04',
      'latest',
    ]);
    const os = get('/openstack/').body.split('\n');
    expect(os[0]).toBe('2012-08-10');
    expect(os.at(-1)).toBe('latest');
    expect(os).toContain('2018-08-27');
  });

  it('lists a version directory by what that version has', () => {
    expect(get('/openstack/latest').body.split('\n')).toEqual([
      'meta_data.json',
      'user_data',
      'password',
      'vendor_data.json',
      'network_data.json',
      'vendor_data2.json',
    ]);
    expect(get('/openstack/2012-08-10/').body.split('\n')).toEqual(['meta_data.json', 'user_data']);
    expect(get('/openstack/2012-08-10/vendor_data.json').status).toBe(404);
    expect(get('/openstack/1999-01-01/meta_data.json').status).toBe(404);
  });

  it('serves meta_data.json as JSON with version-dependent keys and file pointers', () => {
    const latest = get('/openstack/latest/meta_data.json');
    expect(latest.contentType).toBe('application/json');
    const md = JSON.parse(latest.body) as Record<string, unknown>;
    expect(md).toMatchObject({
      uuid: instance.uuid,
      project_id: 'proj-1',
      hostname: instance.hostname,
      public_keys: { key1: 'ssh-ed25519 AAAA k@h' },
      files: [{ path: '/etc/motd', content_path: '/content/0000' }],
    });
    expect(md).toHaveProperty('random_seed');
    const folsom = JSON.parse(get('/openstack/2012-08-10/meta_data.json').body) as Record<string, unknown>;
    expect(folsom).not.toHaveProperty('project_id');
    expect(folsom).not.toHaveProperty('random_seed');
    expect(get('/openstack/content/0000').body).toBe('hello');
    expect(get('/openstack/content/0001').status).toBe(404);
    expect(get('/openstack/latest/vendor_data2.json').body).toBe('{"static":{}}');
    expect(get('/openstack/latest/network_data.json').contentType).toMatch(/^text\/plain/);
  });

  it('renders EC2 directories as nova does: sorted, sub-trees with /, keys as 0=name', () => {
    expect(get('/latest').body).toBe('meta-data/\nuser-data');
    const listing = get('/latest/meta-data/').body.split('\n');
    expect(listing).toContain('placement/');
    expect(listing).toContain('public-keys/');
    expect(listing).toEqual([...listing].sort());
    expect(get('/2009-04-04/meta-data/public-keys').body).toBe('0=key1');
    expect(get('/latest/meta-data/public-keys/0/openssh-key').body).toBe('ssh-ed25519 AAAA k@h');
    expect(get('/latest/meta-data/placement/availability-zone').body).toBe('nova');
    expect(get('/ec2/latest/meta-data/instance-id').body).toBe(instance.uuid);
    expect(get('/latest/meta-data/local-ipv4', '10.0.0.5').body).toBe('10.0.0.5');
    expect(get('/latest/user-data').body).toBe('#cloud-config\n');
    expect(get('/1.0/meta-data/').body.split('\n')).not.toContain('placement/');
    expect(get('/latest/meta-data/nope').status).toBe(404);
    expect(get('/9999/meta-data/').status).toBe(404);
  });
});
