// Shared set-up for the proxy's socket-level unit tests: a fake nova on
// loopback, an identity index, and the proxy listening on 127.0.0.1 (port 0)
// in this process's own namespace — the same helper and HTTP path as in a
// netns, minus `ip netns exec`. Log lines are captured for assertions.
import { pino } from 'pino';
import { request } from 'undici';

import {
  createMetadataProxy,
  IdentityIndex,
  type MetadataProxy,
  type MetadataProxyOptions,
} from '../../../src/proxy/index.js';
import { startFakeNova, type FakeNova, type FakeNovaOptions } from '../../support/fake-nova.js';

export const SECRET = 'unit-test-secret';

export interface Harness {
  readonly nova: FakeNova;
  readonly index: IdentityIndex;
  readonly proxy: MetadataProxy;
  readonly logs: Record<string, unknown>[];
  /** Loopback port serving `network` (listener created on demand). */
  port(network: string): Promise<number>;
  get(network: string, path: string, headers?: Record<string, string>): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  readonly text: string;
}

export interface HarnessOptions {
  readonly novaOptions?: Partial<FakeNovaOptions>;
  readonly proxy?: Partial<Omit<MetadataProxyOptions, 'identity' | 'logger'>>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const nova = await startFakeNova({ secret: SECRET, ...options.novaOptions });
  const index = new IdentityIndex();
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const proxy = await createMetadataProxy({
    identity: index,
    logger,
    ...options.proxy,
    nova: {
      host: nova.host,
      port: nova.port,
      sharedSecret: SECRET,
      timeoutMs: 2_000,
      ...options.proxy?.nova,
    },
    listen: { ipv4: '127.0.0.1', port: 0, ...options.proxy?.listen },
  });
  const port = async (network: string): Promise<number> => {
    await proxy.ensureListener({ network, namespace: undefined });
    const address = proxy.listeners().find((l) => l.network === network)!.addresses[0]!;
    return Number(address.slice(address.lastIndexOf(':') + 1));
  };
  return {
    nova,
    index,
    proxy,
    logs,
    port,
    async get(network, path, headers = {}) {
      return fetchFrom(await port(network), path, { headers });
    },
    async close() {
      await proxy.close();
      await nova.close();
    },
  };
}

export async function fetchFrom(
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply> {
  const res = await request(`http://127.0.0.1:${port}${path}`, {
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers,
    body: init.body,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body, text: body.toString() };
}

/** A bound port owning 127.0.0.1 (the loopback "VM") on `network`. */
export function loopbackVm(
  index: IdentityIndex,
  network: string,
  instanceId: string,
  projectId = 'proj-1',
): void {
  index.upsertPort({
    key: `${network}-${instanceId}`,
    network,
    mac: 'fa:16:3e:00:00:01',
    ips: ['127.0.0.1'],
    instanceId,
    projectId,
    bound: true,
  });
}
