// A VM asking for its metadata again and again: run inside the VM's network
// namespace (`ip netns exec NS node vm-loop.js SPEC`), started and read by
// VmLoop below. Each request is on a NEW connection (as cloud-init's every
// fetch is) and may take up to `timeoutMs`.
// - Closed loop (the restart bench's client): one request at a time, `gapMs`
//   after the previous one ended.
// - Open loop (`open: true`, the provision bench's probe of a new network): a
//   new request every `gapMs` whatever the others do, so that a SYN sent
//   before the path existed (retransmitted only after 1 s) does not hide
//   the first moment the path answers.
// Stops when its stdin ends (after the requests in flight). A first line
// {"ready":epochMs} once it runs, then one JSON line per request on stdout:
//   {"start":ms,"end":ms,"wall":epochMs,"status":200,"ok":true}  (ms since the loop began)
//   {"start":ms,"end":ms,"wall":epochMs,"ok":false,"error":"ECONNREFUSED"}
// ok: a 200 whose body is `expectBody`. Times are performance.now() of this
// process, relative to its first request.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export interface VmLoopSpec {
  readonly host: string;
  readonly path: string;
  readonly expectBody: string;
  readonly gapMs: number;
  readonly timeoutMs: number;
  /** A new request every gapMs, not gapMs after the previous answer. */
  readonly open?: boolean;
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
  process.stdout.write(`${JSON.stringify({ ready: Date.now() })}\n`);
  const t0 = performance.now();
  const ask = async (): Promise<void> => {
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
  };
  const inFlight = new Set<Promise<void>>();
  while (!stopping) {
    if (spec.open) {
      const asking = ask().finally(() => inFlight.delete(asking));
      inFlight.add(asking);
    } else {
      await ask();
    }
    await new Promise((resolve) => setTimeout(resolve, spec.gapMs));
  }
  await Promise.all(inFlight);
}

/** The loop running in a VM's namespace, with what it has answered so far. */
export class VmLoop {
  readonly events: VmLoopEvent[] = [];
  /** Date.now() in the VM process when it started asking. */
  readonly ready: Promise<number>;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #firstGood: Promise<number>;
  /** performance.now() of this process when the loop's clock was 0 (approximately: at spawn). */
  readonly #t0 = performance.now();

  constructor(
    namespace: string,
    private readonly spec: VmLoopSpec,
  ) {
    this.#child = spawn(
      'ip',
      ['netns', 'exec', namespace, process.execPath, VM_LOOP_SCRIPT, JSON.stringify(spec)],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let onReady: (wall: number) => void = () => undefined;
    let onGood: (wall: number) => void = () => undefined;
    this.ready = new Promise((resolve) => (onReady = resolve));
    this.#firstGood = new Promise((resolve) => (onGood = resolve));
    let buffered = '';
    this.#child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === '') continue;
        const parsed = JSON.parse(line) as VmLoopEvent | { ready: number };
        if ('ready' in parsed) {
          onReady(parsed.ready);
        } else {
          this.events.push(parsed);
          if (parsed.ok) onGood(parsed.wall);
        }
      }
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
  }

  /** Good answers that ended after `since` (this process's performance.now()). */
  goodSince(since: number): number {
    const from = since - this.#t0;
    return this.events.filter((e) => e.ok && e.end > from).length;
  }

  /**
   * When the first good answer arrived (this process's performance.now(),
   * from the VM's wall clock at the answer), or undefined after `deadlineMs`.
   */
  async firstGood(deadlineMs: number): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const wall = await Promise.race([
      this.#firstGood,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), deadlineMs))),
    ]);
    clearTimeout(timer);
    return wall === undefined ? undefined : wall - performance.timeOrigin;
  }

  /** Ends the loop after its requests in flight (SIGKILL if they outlast their timeout). */
  async stop(): Promise<void> {
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), this.spec.timeoutMs + 5_000);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Last resort (exit path): no waiting. */
  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

if (process.argv[1] === VM_LOOP_SCRIPT) {
  void main(JSON.parse(process.argv[2]!) as VmLoopSpec);
}
