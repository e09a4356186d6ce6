// The human table, the JSON shape and the exit code.
import { describe, expect, it } from 'vitest';
import { exitCode, renderJson, renderTable } from '../../../src/verify/index.js';
import type { VerifyReport } from '../../../src/verify/types.js';

const NET = '76af9baf-9fa4-4631-8f1d-5610ef87a036';

const healthy: VerifyReport = {
  chassis: [{ name: 'ovs-db', status: 'pass', detail: 'unix:/run/openvswitch/db.sock' }],
  networks: [
    {
      id: NET,
      checks: [
        { name: 'metadata-port', status: 'pass', detail: 'meta fa:16:3e:9d:cc:52' },
        { name: 'ovn-trace', subject: 'vm1', status: 'pass', detail: 'reaches output("meta")' },
      ],
    },
  ],
};

const broken: VerifyReport = {
  chassis: healthy.chassis,
  networks: [
    {
      id: NET,
      checks: [
        { name: 'mtu', status: 'fail', reason: `ovnmeta-${NET}: tap76af9baf-91 MTU 1500, want 1442` },
        { name: 'proxy-ipv4', status: 'skip', reason: 'not checked: see veth' },
      ],
    },
  ],
};

describe('render', () => {
  it('a table with one aligned line per check and a verdict', () => {
    expect(renderTable(broken)).toBe(
      [
        'NETWORK                               CHECK       RESULT  WHY',
        '-                                     ovs-db      PASS    unix:/run/openvswitch/db.sock',
        `${NET}  mtu         FAIL    ovnmeta-${NET}: tap76af9baf-91 MTU 1500, want 1442`,
        `${NET}  proxy-ipv4  SKIP    not checked: see veth`,
        '',
        'FAILED: 1 network(s): 1 passed, 1 failed, 1 skipped',
        '',
      ].join('\n'),
    );
    expect(renderTable(healthy)).toContain(`${NET}  ovn-trace vm1  PASS`);
  });

  it('says so when there is nothing to serve', () => {
    expect(renderTable({ chassis: healthy.chassis, networks: [] })).toMatch(
      /OK: no network has VM ports bound to this chassis/,
    );
  });

  it('JSON: { ok, chassis, networks: [{ id, ok, checks: [{ name, subject?, ok, status, reason?, detail? }] }] }', () => {
    expect(JSON.parse(renderJson(broken))).toEqual({
      ok: false,
      chassis: [{ name: 'ovs-db', ok: true, status: 'pass', detail: 'unix:/run/openvswitch/db.sock' }],
      networks: [
        {
          id: NET,
          ok: false,
          checks: [
            {
              name: 'mtu',
              ok: false,
              status: 'fail',
              reason: `ovnmeta-${NET}: tap76af9baf-91 MTU 1500, want 1442`,
            },
            { name: 'proxy-ipv4', ok: false, status: 'skip', reason: 'not checked: see veth' },
          ],
        },
      ],
    });
    expect(JSON.parse(renderJson(healthy)).networks[0].checks[1]).toEqual({
      name: 'ovn-trace',
      subject: 'vm1',
      ok: true,
      status: 'pass',
      detail: 'reaches output("meta")',
    });
  });

  it('exit 0 only when every check passed; a chassis failure counts', () => {
    expect(exitCode(healthy)).toBe(0);
    expect(exitCode(broken)).toBe(1);
    expect(exitCode({ chassis: [{ name: 'southbound', status: 'fail', reason: 'x' }], networks: [] })).toBe(
      1,
    );
  });
});
