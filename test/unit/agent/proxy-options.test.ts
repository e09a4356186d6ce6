// neutron master's [metadata_haproxy] timeouts reach the proxy's options.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/agent/index.js';
import { novaTimeoutSeconds, proxyOptions } from '../../../src/agent/proxy-options.js';
import { IdentityIndex } from '../../../src/proxy/index.js';
import { pino } from 'pino';

const cfg = (ini: string) => parseConfig([{ name: 'a.ini', text: ini }]);
const options = (ini: string) => proxyOptions(cfg(ini), new IdentityIndex(), pino({ level: 'silent' }));

describe('[metadata_haproxy] in the proxy options', () => {
  it("neutron master's defaults: 30 s request, 30 s keep-alive, 32 s nova silence, 30 s connect", () => {
    const o = options('');
    expect(o.limits).toMatchObject({
      headersTimeoutMs: 30_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 30_000,
    });
    expect(o.nova).toMatchObject({ timeoutMs: 32_000, connectTimeoutMs: 30_000 });
  });
  it('set values are used', () => {
    const o = options(
      '[metadata_haproxy]\ntimeout_http_request = 5\ntimeout_http_keep_alive = 7\ntimeout_server = 90\ntimeout_connect = 3\n',
    );
    expect(o.limits).toMatchObject({
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 5_000,
      keepAliveTimeoutMs: 7_000,
    });
    expect(o.nova).toMatchObject({ timeoutMs: 90_000, connectTimeoutMs: 3_000 });
  });
  it('[ovnmeta] nova_metadata_timeout, when set, wins over timeout_server', () => {
    expect(
      novaTimeoutSeconds(
        cfg('[metadata_haproxy]\ntimeout_server = 90\n[ovnmeta]\nnova_metadata_timeout = 2.5\n'),
      ),
    ).toBe(2.5);
    expect(novaTimeoutSeconds(cfg('[metadata_haproxy]\ntimeout_server = 90\n'))).toBe(90);
  });
});
