// neutron master's [metadata_haproxy] timeouts reach the proxy's options.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/agent/index.js';
import { AgentMetrics } from '../../../src/agent/metrics.js';
import { metricsHooks, novaTimeoutSeconds, proxyOptions } from '../../../src/agent/proxy-options.js';
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

describe('the proxy metrics hooks', () => {
  it('count requests per network and status, 429s per network, and time every answer', async () => {
    const metrics = new AgentMetrics(undefined, false);
    const hooks = metricsHooks(metrics);
    hooks.request('net-a', 200, 0.002);
    hooks.request('net-a', 200, 0.003);
    hooks.request('net-a', 404, 0.001);
    hooks.request('net-b', 429, 0);
    const text = await metrics.registry.metrics();
    expect(text).toContain('ovnmeta_metadata_requests_total{network="net-a",status="200"} 2');
    expect(text).toContain('ovnmeta_metadata_requests_total{network="net-a",status="404"} 1');
    expect(text).toContain('ovnmeta_metadata_requests_total{network="net-b",status="429"} 1');
    expect(text).toContain('ovnmeta_rate_limited_requests_total{network="net-b"} 1');
    expect(text).toContain('ovnmeta_relay_duration_seconds_count 4');
  });
});
