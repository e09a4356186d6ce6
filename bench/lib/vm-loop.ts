// A VM asking for its metadata again and again, as the restart bench's
// client: run inside the VM's network namespace (`ip netns exec NS node
// vm-loop.js SPEC`). Closed loop, one request at a time, each on a NEW
// connection (as cloud-init's every fetch is), `gapMs` after the previous
// one ended; each request may take up to `timeoutMs`. Stops when its stdin
// ends (after the request in flight). One JSON line per request on stdout:
//   {"start":ms,"end":ms,"wall":epochMs,"status":200,"ok":true}  (ms since the loop began)
//   {"start":ms,"end":ms,"wall":epochMs,"ok":false,"error":"ECONNREFUSED"}
// ok: a 200 whose body is `expectBody`. Times are performance.now() of this
// process, relative to its first request.
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export interface VmLoopSpec {
  readonly host: string;
  readonly path: string;
  readonly expectBody: string;
  readonly gapMs: number;
  readonly timeoutMs: number;
}

export interface VmLoopEvent {
  readonly start: number;
  readonly end: number;
  /** Date.now() at the end (to place it among the bench's own events). */
  readonly wall: number;
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
}

/** This file, compiled: what `node` runs. */
export const VM_LOOP_SCRIPT = fileURLToPath(import.meta.url);

function once(spec: VmLoopSpec): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: spec.host, port: 80, path: spec.path, agent: false, timeout: spec.timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

async function main(spec: VmLoopSpec): Promise<void> {
  let stopping = false;
  process.stdin.on('end', () => (stopping = true)).resume();
  const t0 = performance.now();
  while (!stopping) {
    const start = performance.now() - t0;
    const r = await once(spec);
    const end = performance.now() - t0;
    const ok = r.status === 200 && r.body === spec.expectBody;
    const event: VmLoopEvent = {
      start: Math.round(start * 10) / 10,
      end: Math.round(end * 10) / 10,
      wall: Date.now(),
      ok,
      ...(r.status === undefined ? {} : { status: r.status }),
      ...(r.error === undefined ? {} : { error: r.error }),
    };
    process.stdout.write(`${JSON.stringify(event)}\n`);
    await new Promise((resolve) => setTimeout(resolve, spec.gapMs));
  }
}

if (process.argv[1] === VM_LOOP_SCRIPT) {
  void main(JSON.parse(process.argv[2]!) as VmLoopSpec);
}
