import { describe, expect, it } from 'vitest';
import { MonitorConditions } from '../../../src/agent/monitor-conditions.js';
import type { SbInterest } from '../../../src/agent/sb-monitor.js';
import type { OvsdbClient } from '../../../src/ovsdb/index.js';

/**
 * A client whose setConditions takes a tick, and a "replica" that the
 * condition change fills in, as ovsdb-server does before its reply: local
 * port -> its datapath -> the network -> its metadata port.
 */
function world() {
  const sent: unknown[] = [];
  let datapathKnown = false;
  let networkKnown = false;
  let chassisKnown = false;
  const interest = (): SbInterest & { networks: ReadonlySet<string> } => ({
    systemId: 'ch1',
    chassis: chassisKnown ? 'c-1' : undefined,
    datapaths: datapathKnown ? ['dp-1'] : [],
    networks: new Set(networkKnown ? ['net-1'] : []),
    additionalChassis: true,
  });
  const client = {
    async setConditions(c: { Port_Binding: unknown[]; Datapath_Binding: unknown[] }) {
      sent.push(c);
      await new Promise((r) => setTimeout(r, 5));
      // Rows the new conditions select arrive before the reply.
      if (c.Port_Binding.length > 0) datapathKnown = true;
      if (JSON.stringify(c.Datapath_Binding).includes('dp-1')) networkKnown = true;
    },
  } as unknown as OvsdbClient;
  return { client, interest, sent, chassisFound: () => (chassisKnown = true) };
}

describe('MonitorConditions', () => {
  it('settles in round trips: local ports, then datapaths, then metadata ports', async () => {
    const w = world();
    const added: string[] = [];
    const mc = new MonitorConditions({
      client: w.client,
      interest: w.interest,
      onMonitored: (n) => added.push(...n),
      onError: (e) => {
        throw e;
      },
    });
    w.chassisFound();
    await mc.settle();
    // chassis clauses, then the datapath clause, then the metadata port clause
    expect(w.sent).toHaveLength(3);
    expect(JSON.stringify(w.sent.at(-1))).toContain('ovnmeta-net-1');
    expect(mc.monitors('net-1')).toBe(true);
    expect(added).toEqual(['net-1']);
  });

  it('settle() waits for an update already in flight instead of ending early', async () => {
    const w = world();
    const mc = new MonitorConditions({
      client: w.client,
      interest: w.interest,
      onMonitored: () => {},
      onError: () => {},
    });
    w.chassisFound();
    mc.schedule(); // the Chassis row arrived
    mc.schedule(); // coalesced
    await mc.settle();
    expect(mc.monitors('net-1')).toBe(true);
    expect(w.sent).toHaveLength(3);
  });
});
