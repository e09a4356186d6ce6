// How a verify report is shown: a table for people, JSON for scripts, and
// the exit code (0 only when every check passed). Pure.
import type { Check, VerifyReport } from './types.js';

export const reportOk = (r: VerifyReport): boolean =>
  r.chassis.every((c) => c.status === 'pass') &&
  r.networks.every((n) => n.checks.every((c) => c.status === 'pass'));

/** 0: every check passed; 1: some check failed (docs/verify.md). */
export const exitCode = (r: VerifyReport): 0 | 1 => (reportOk(r) ? 0 : 1);

interface JsonCheck {
  readonly name: string;
  readonly subject?: string;
  readonly ok: boolean;
  readonly status: Check['status'];
  readonly reason?: string;
  readonly detail?: string;
}

const jsonCheck = (c: Check): JsonCheck => ({
  name: c.name,
  ...(c.subject === undefined ? {} : { subject: c.subject }),
  ok: c.status === 'pass',
  status: c.status,
  ...(c.reason === undefined ? {} : { reason: c.reason }),
  ...(c.detail === undefined ? {} : { detail: c.detail }),
});

/** `{ ok, identity?: { role, agentType, binary, reason, agentId? }, chassis: [check], networks: [{ id, checks: [check] }] }`, check = `{ name, subject?, ok, status, reason?, detail? }`. */
export function renderJson(r: VerifyReport): string {
  return `${JSON.stringify(
    {
      ok: reportOk(r),
      ...(r.identity ? { identity: r.identity } : {}),
      chassis: r.chassis.map(jsonCheck),
      networks: r.networks.map((n) => ({
        id: n.id,
        ok: n.checks.every((c) => c.status === 'pass'),
        checks: n.checks.map(jsonCheck),
      })),
    },
    null,
    2,
  )}\n`;
}

const WORD = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const;

/**
 * One line per check: NETWORK CHECK RESULT WHY. Chassis-wide checks show
 * `-` as network. A final line counts results.
 */
export function renderTable(r: VerifyReport): string {
  const rows: [string, string, string, string][] = [];
  for (const c of r.chassis) rows.push(['-', label(c), WORD[c.status], c.reason ?? c.detail ?? '']);
  for (const n of r.networks) {
    for (const c of n.checks) rows.push([n.id, label(c), WORD[c.status], c.reason ?? c.detail ?? '']);
  }
  const header: [string, string, string, string] = ['NETWORK', 'CHECK', 'RESULT', 'WHY'];
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd();
  const counts = { pass: 0, fail: 0, skip: 0 };
  for (const c of [...r.chassis, ...r.networks.flatMap((n) => n.checks)]) counts[c.status]++;
  const summary =
    r.networks.length === 0 && reportOk(r)
      ? 'no network has VM ports bound to this chassis: nothing to serve'
      : `${r.networks.length} network(s): ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped`;
  const identity = r.identity
    ? [
        `agent: ${r.identity.agentType} (${r.identity.binary})${r.identity.agentId ? ` id ${r.identity.agentId}` : ''}: ${r.identity.reason}`,
        '',
      ]
    : [];
  return [
    ...identity,
    line(header),
    ...rows.map(line),
    '',
    `${reportOk(r) ? 'OK' : 'FAILED'}: ${summary}`,
    '',
  ].join('\n');
}

const label = (c: Check): string => (c.subject === undefined ? c.name : `${c.name} ${c.subject}`);
