import { describe, expect, it } from 'vitest';

import { DEFAULT_LIMITS, DEFAULT_NOVA, DEFAULT_RATE_LIMIT } from '../../../src/proxy/index.js';
import { resolveOptions, type MetadataProxyOptions } from '../../../src/proxy/options.js';

const identity = { lookup: () => ({ kind: 'none' as const }) };
const base: MetadataProxyOptions = { identity, nova: { sharedSecret: 's' } };

describe('resolveOptions', () => {
  it("fills neutron's defaults", () => {
    const r = resolveOptions(base);
    expect(r.nova).toEqual({ ...DEFAULT_NOVA, sharedSecret: 's' });
    expect(r.nova).toMatchObject({ host: '127.0.0.1', port: 8775, protocol: 'http', timeoutMs: 32_000 });
    expect(r.rateLimit).toEqual(DEFAULT_RATE_LIMIT);
    expect(r.rateLimit).toMatchObject({
      enabled: false,
      baseWindowMs: 10_000,
      baseLimit: 10,
      burstLimit: 10,
    });
    expect(r.limits).toEqual(DEFAULT_LIMITS);
    expect(r.listen).toMatchObject({ ipv4: '169.254.169.254', ipv6: 'fe80::a9fe:a9fe', port: 80 });
  });

  it('keeps defaults for options given as undefined', () => {
    expect(resolveOptions({ ...base, nova: { sharedSecret: 's', port: undefined } }).nova.port).toBe(8775);
  });

  it.each<[string, Partial<MetadataProxyOptions>]>([
    ['nova_metadata_protocol', { nova: { sharedSecret: 's', protocol: 'ftp' as 'http' } }],
    ['nova_metadata_port', { nova: { sharedSecret: 's', port: 70_000 } }],
    ['nova.timeoutMs', { nova: { sharedSecret: 's', timeoutMs: 0 } }],
    ['limits.maxBodyBytes', { limits: { maxBodyBytes: -1 } }],
    ['limits.headersTimeoutMs', { limits: { headersTimeoutMs: 60_000, requestTimeoutMs: 30_000 } }],
    ['ip_versions', { rateLimit: { enabled: true, ipVersions: [5 as 4] } }],
    ['base_window_duration', { rateLimit: { enabled: true, baseWindowMs: 0 } }],
  ])('rejects a bad %s with PROXY_INVALID_OPTIONS', (option, patch) => {
    expect(() => resolveOptions({ ...base, ...patch })).toThrow(
      expect.objectContaining({ code: 'PROXY_INVALID_OPTIONS', option }),
    );
  });
});
