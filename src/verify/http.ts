// The two HTTP requests verify makes: one from inside a metadata namespace
// to the proxy's listener (curl under `ip netns exec`, as an operator would
// check by hand), and one through metadata_proxy_socket carrying the headers
// haproxy adds (X-OVN-Network-ID, X-Forwarded-For), as a VM's request
// arrives there. Both report what happened as data, never throw.
import { execa } from 'execa';
import http from 'node:http';
import type { HttpObservation } from './types.js';

/** curl(1) exit codes: 7 could not connect, 28 timed out. */
const CURL_CONNECT_FAILED = 7;
const CURL_TIMEOUT = 28;

/**
 * GET `url` from inside `namespace`. An IPv6 link-local URL carries its zone
 * as `%dev`; it is sent to curl URL-encoded (`%25dev`, RFC 6874).
 */
export async function httpFromNamespace(
  namespace: string,
  url: string,
  timeoutMs: number,
): Promise<HttpObservation> {
  const args = [
    'netns',
    'exec',
    namespace,
    'curl',
    '-sS',
    '-g',
    '-m',
    String(timeoutMs / 1000),
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    url.replace(/%(?!25)/, '%25'),
  ];
  const r = await execa('ip', args, { reject: false, stdin: 'ignore', timeout: timeoutMs + 5000 });
  const why = (r.stderr || r.shortMessage || '').trim().split('\n').pop() ?? '';
  if (r.exitCode === 0) {
    const status = Number(r.stdout.trim());
    return status > 0
      ? { kind: 'answered', status, body: '' }
      : { kind: 'no-answer', reason: 'no HTTP status' };
  }
  if (r.exitCode === CURL_CONNECT_FAILED) return { kind: 'refused', reason: why || 'connection refused' };
  if (r.exitCode === CURL_TIMEOUT) return { kind: 'no-answer', reason: `timed out after ${timeoutMs} ms` };
  return { kind: 'no-answer', reason: `ip netns exec ${namespace} curl exited ${r.exitCode ?? '?'}: ${why}` };
}

export interface SocketProbe {
  readonly socketPath: string;
  readonly networkId: string;
  readonly sourceIp: string;
  readonly path: string;
  readonly timeoutMs: number;
}

/** GET through the unix socket, as haproxy would forward the VM's request. */
export function httpThroughSocket(p: SocketProbe): Promise<HttpObservation> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        socketPath: p.socketPath,
        path: p.path,
        method: 'GET',
        headers: {
          host: '169.254.169.254',
          'x-ovn-network-id': p.networkId,
          'x-forwarded-for': p.sourceIp,
          connection: 'close',
        },
        timeout: p.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            kind: 'answered',
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', (err) => resolve({ kind: 'no-answer', reason: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${p.timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const refused = err.code === 'ECONNREFUSED' || err.code === 'ENOENT';
      resolve({ kind: refused ? 'refused' : 'no-answer', reason: err.code ?? err.message });
    });
    req.end();
  });
}
