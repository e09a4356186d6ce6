// neutron master's [metadata_haproxy] timeouts reach the proxy's options.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/agent/index.js';
import { AgentMetrics } from '../../../src/agent/metrics.js';
import { metricsHooks, novaTimeoutSeconds, proxyOptions } from '../../../src/agent/proxy-options.js';
import { IdentityIndex } from '../../../src/proxy/index.js';
import { pino } from 'pino';
import { Histogram, Registry } from 'prom-client';

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

  it('time answers in batches that export what observing each one exports', async () => {
    const metrics = new AgentMetrics(undefined, false);
    const hooks = metricsHooks(metrics);
    const referenceRegistry = new Registry();
    const reference = new Histogram({
      name: 'ovnmeta_relay_duration_seconds',
      help: 'Time from a request arriving to its answer being sent, relay to nova included.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers: [referenceRegistry],
    });
    const exported = async () => [
      await metrics.registry.getSingleMetricAsString('ovnmeta_relay_duration_seconds'),
      await referenceRegistry.metrics(),
    ];
    // Over two batches and a half, then one more after a read.
    for (let i = 0; i < 2500; i++) {
      const seconds = (i % 97) / 1000 + i / 1e6;
      hooks.request('net-a', 200, seconds);
      reference.observe(seconds);
    }
    let [ours, theirs] = await exported();
    expect(ours).toContain('ovnmeta_relay_duration_seconds_count 2500');
    expect(`${ours}\n`).toBe(theirs);
    hooks.request('net-a', 200, 61);
    reference.observe(61);
    [ours, theirs] = await exported();
    expect(ours).toContain('ovnmeta_relay_duration_seconds_bucket{le="+Inf"} 2501');
    expect(`${ours}\n`).toBe(theirs);
  });

  it('keep counting across reads: each scrape or get() sees every answer so far', async () => {
    const metrics = new AgentMetrics(undefined, false);
    const hooks = metricsHooks(metrics);
    hooks.request('net-a', 200, 0.002);
    hooks.request('net-a', 200, 0.002);
    expect(await metrics.registry.metrics()).toContain(
      'ovnmeta_metadata_requests_total{network="net-a",status="200"} 2',
    );
    hooks.request('net-a', 200, 0.002);
    hooks.request('net-a', 503, 0.002);
    const values = (await metrics.requests.get()).values.map((v) => [v.labels, v.value]);
    expect(values).toEqual([
      [{ network: 'net-a', status: '200' }, 3],
      [{ network: 'net-a', status: '503' }, 1],
    ]);
    expect(await metrics.registry.metrics()).toContain(
      'ovnmeta_metadata_requests_total{network="net-a",status="200"} 3',
    );
  });
});
