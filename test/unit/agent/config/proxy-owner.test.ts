// metadata_proxy_user / metadata_proxy_group must name a user and group the
// host knows (by name or id): otherwise a config error naming the option.
import { describe, expect, it } from 'vitest';
import { checkProxyOwner, knownId, parseConfig } from '../../../../src/agent/index.js';

const passwd = 'root:x:0:0:root:/root:/bin/bash\nneutron:x:117:122::/var/lib/neutron:/usr/sbin/nologin\n';
const group = 'root:x:0:\nneutron:x:122:\n';
const dbs = () => ({ passwd, group });
const cfg = (ini: string) => parseConfig([{ name: '/etc/neutron/a.ini', text: `[DEFAULT]\n${ini}\n` }]);

describe('knownId', () => {
  it('a name in the first field, or any decimal id', () => {
    expect(knownId('neutron', passwd)).toBe(true);
    expect(knownId('4242', passwd)).toBe(true);
    expect(knownId('neutro', passwd)).toBe(false);
    expect(knownId('x', passwd)).toBe(false);
  });
});

describe('checkProxyOwner', () => {
  it('unset, known names and ids pass', () => {
    expect(() => checkProxyOwner(cfg(''), dbs)).not.toThrow();
    expect(() =>
      checkProxyOwner(cfg('metadata_proxy_user = neutron\nmetadata_proxy_group = 122'), dbs),
    ).not.toThrow();
  });
  it('an unknown user and group: one AGENT_CONFIG_INVALID naming both options and the file', () => {
    const run = () =>
      checkProxyOwner(cfg('metadata_proxy_user = haproxy\nmetadata_proxy_group = haproxy'), dbs);
    expect(run).toThrow(/\[DEFAULT\] metadata_proxy_user = "haproxy" in \/etc\/neutron\/a\.ini: a user name/);
    expect(run).toThrow(
      /\[DEFAULT\] metadata_proxy_group = "haproxy" in \/etc\/neutron\/a\.ini: a group name/,
    );
    expect(run).toThrow(expect.objectContaining({ code: 'AGENT_CONFIG_INVALID' }) as Error);
  });
});
