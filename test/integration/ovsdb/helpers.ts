// Shared bits of the ovsdb integration tests.
import type { ClientStatus, Logger, OvsdbClient, RowEvent } from '../../../src/ovsdb/index.js';

/** OVSDB_TEST_LOG=1 prints the client's log lines (debugging a failing test). */
export const testLogger: Logger | undefined = process.env.OVSDB_TEST_LOG
  ? (Object.fromEntries(
      ['debug', 'info', 'warn', 'error'].map((level) => [
        level,
        (obj: object, msg?: string) =>
          console.log(
            new Date().toISOString(),
            level,
            msg,
            JSON.stringify(obj, (k, v: unknown) => (k === 'err' ? String(v) : v)),
          ),
      ]),
    ) as unknown as Logger)
  : undefined;

export async function waitFor<T>(
  fn: () => T | undefined | false,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Records every status and row event of a client (attach before start()). */
export function record(client: OvsdbClient): { statuses: ClientStatus[]; events: RowEvent[] } {
  const statuses: ClientStatus[] = [];
  const events: RowEvent[] = [];
  let attached = false;
  client.on('status', (s) => {
    statuses.push(s);
    if (process.env.OVSDB_TEST_LOG)
      console.log(new Date().toISOString(), 'status', s.type, s.remote, 'error' in s ? s.error.message : '');
    if (s.type === 'connected' && !attached) {
      attached = true;
      client.replica.on('change', (evs) => events.push(...evs));
    }
  });
  return { statuses, events };
}

/** Next status of `type`, after the call. */
export function nextStatus<T extends ClientStatus['type']>(
  client: OvsdbClient,
  type: T,
  timeoutMs = 20_000,
): Promise<Extract<ClientStatus, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('status', on);
      reject(new Error(`no ${type} status within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (s: ClientStatus): void => {
      if (s.type !== type) return;
      clearTimeout(timer);
      client.off('status', on);
      resolve(s as Extract<ClientStatus, { type: T }>);
    };
    client.on('status', on);
  });
}

export const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
