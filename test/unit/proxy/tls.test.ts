// https to nova: verification with auth_ca_cert, nova_metadata_insecure and a
// client certificate, against certificates made here with openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createMetadataProxy, type NovaOptions } from '../../../src/proxy/index.js';
import { startFakeNova, type FakeNova } from '../../support/fake-nova.js';
import { startHarness, SECRET } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'ovnmeta-tls-'));
const file = (name: string): string => join(dir, name);
const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });

function makeCertificates(): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=ovnmeta test CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const who of ['server', 'client']) {
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${who}`,
      '-keyout',
      file(`${who}.key`),
      '-out',
      file(`${who}.csr`),
    );
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${who}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      file(`${who}.pem`),
      ...(who === 'server' ? ['-extfile', file('server.ext')] : []),
    );
  }
}

describe('https to nova', () => {
  let nova: FakeNova;
  let mutualNova: FakeNova;
  beforeAll(async () => {
    makeCertificates();
    const tls = { key: readFileSync(file('server.key')), cert: readFileSync(file('server.pem')) };
    nova = await startFakeNova({ secret: SECRET, tls });
    mutualNova = await startFakeNova({
      secret: SECRET,
      tls: { ...tls, ca: readFileSync(file('ca.pem')), requestCert: true },
    });
  });
  afterAll(async () => {
    await nova?.close();
    await mutualNova?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function fetchThrough(target: FakeNova, tls: Partial<NovaOptions>): Promise<number> {
    const h = await startHarness({
      proxy: {
        nova: { host: '127.0.0.1', port: target.port, protocol: 'https', sharedSecret: SECRET, ...tls },
      },
    });
    try {
      h.index.upsertPort({
        key: 'p',
        network: 'n',
        mac: '02:00:00:00:00:01',
        ips: ['127.0.0.1'],
        instanceId: 'tls-inst',
        projectId: 'p',
        bound: true,
      });
      const reply = await h.get('n', '/latest/meta-data/instance-id');
      if (reply.status === 200) expect(reply.text).toBe('tls-inst');
      return reply.status;
    } finally {
      await h.close();
    }
  }

  it('verifies nova against auth_ca_cert', async () => {
    expect(await fetchThrough(nova, { caCert: file('ca.pem') })).toBe(200);
  });

  it('refuses an unverifiable nova (503) without auth_ca_cert', async () => {
    expect(await fetchThrough(nova, {})).toBe(503);
  });

  it('skips verification when nova_metadata_insecure', async () => {
    expect(await fetchThrough(nova, { insecure: true })).toBe(200);
  });

  it('presents the client certificate when both cert and key are set', async () => {
    const ca = file('ca.pem');
    expect(
      await fetchThrough(mutualNova, {
        caCert: ca,
        clientCert: file('client.pem'),
        clientKey: file('client.key'),
      }),
    ).toBe(200);
    expect(await fetchThrough(mutualNova, { caCert: ca })).toBe(503);
    // Only half of the pair: neutron ignores it, so do we.
    expect(await fetchThrough(mutualNova, { caCert: ca, clientCert: file('client.pem') })).toBe(503);
  });

  it('fails with PROXY_INVALID_OPTIONS when a PEM file cannot be read, and ends the holder it started', async () => {
    const holders = () => readdirSync(tmpdir()).filter((f) => f.startsWith(`ovnmeta-holder-${process.pid}-`));
    const before = holders();
    await expect(
      createMetadataProxy({
        identity: { lookup: () => ({ kind: 'none' }) },
        nova: { protocol: 'https', caCert: file('missing.pem'), sharedSecret: SECRET },
      }),
    ).rejects.toMatchObject({ code: 'PROXY_INVALID_OPTIONS', option: 'auth_ca_cert', retryable: false });
    // The private listener holder's control socket is gone with it.
    expect(holders()).toEqual(before);
  });
});
