// The reconciler's contract on data: which steps run, in which order, and
// what is reported. The host, OVS and listener sides are recorders here;
// end-to-end tests run the real ones.
import { describe, expect, it } from 'vitest';
import { Reconciler, type Change, type ReconcilerDeps } from '../../../src/agent/reconciler.js';
import type { SbView } from '../../../src/agent/sb-view.js';
import type { NetworkInputs } from '../../../src/agent/desired.js';
import { CHASSIS, NET, datapath, metadataPort, port } from './fixtures.js';

function setup(inputs: Partial<NetworkInputs>, opts: { monitored?: boolean; change?: Change } = {}) {
  const calls: string[] = [];
  const logs: string[] = [];
  const change = opts.change ?? 'created';
  const view = {
    inputs: (): NetworkInputs => ({
      networkId: NET,
      datapath: datapath(),
      metadataPorts: [metadataPort()],
      localPorts: [port()],
      ...inputs,
    }),
  } as unknown as SbView;
  const deps: ReconcilerDeps = {
    view,
    chassis: () => CHASSIS,
    monitored: () => opts.monitored ?? true,
    checksumFill: () => true,
    host: {
      ensure: async (n, fill) => (calls.push(`host.ensure ${n.namespace} fill=${fill}`), change),
      remove: async (ns) => (calls.push(`host.remove ${ns}`), 'removed'),
    },
    ovs: {
      ensure: async (p, id) => (calls.push(`ovs.ensure ${p} ${id}`), change),
      remove: async (p) => (calls.push(`ovs.remove ${p}`), 'unchanged'),
    },
    listeners: {
      ensure: async (n) => (calls.push(`listener.ensure ${n.networkId}`), change),
      remove: async (id) => (calls.push(`listener.remove ${id}`), 'removed'),
    },
    log: {
      info: (_o, m) => logs.push(`info ${m}`),
      warn: (_o, m) => logs.push(`warn ${m}`),
      debug: () => {},
    },
  };
  return { reconciler: new Reconciler(deps), calls, logs };
}

describe('Reconciler', () => {
  it('serves: plumbing, then the OVS port, then the listener', async () => {
    const { reconciler, calls } = setup({});
    expect(await reconciler.reconcile(NET)).toEqual({ networkId: NET, intent: 'serve', change: 'created' });
    expect(calls).toEqual([
      `host.ensure ovnmeta-${NET} fill=true`,
      'ovs.ensure tap76af9baf-90 meta-port',
      `listener.ensure ${NET}`,
    ]);
  });

  it('reports unchanged and logs nothing when everything is in place', async () => {
    const { reconciler, logs } = setup({}, { change: 'unchanged' });
    expect((await reconciler.reconcile(NET)).change).toBe('unchanged');
    expect(logs).toEqual([]);
  });

  it('tears down in reverse order when no VM port is local', async () => {
    const { reconciler, calls } = setup({ localPorts: [] });
    expect(await reconciler.reconcile(NET)).toEqual({ networkId: NET, intent: 'absent', change: 'removed' });
    expect(calls).toEqual([
      `listener.remove ${NET}`,
      'ovs.remove tap76af9baf-90',
      `host.remove ovnmeta-${NET}`,
    ]);
  });

  it('waits (pending) while the metadata port is not monitored yet', async () => {
    const { reconciler, calls, logs } = setup({ metadataPorts: [] }, { monitored: false });
    expect((await reconciler.reconcile(NET)).intent).toBe('pending');
    expect(calls).toEqual([]);
    expect(logs).toEqual([]);
  });

  it('tears an unservable network down and says why once', async () => {
    const { reconciler, calls, logs } = setup({ metadataPorts: [] });
    await reconciler.reconcile(NET);
    await reconciler.reconcile(NET);
    expect(calls.filter((c) => c.startsWith('host.remove'))).toHaveLength(2);
    expect(logs.filter((l) => l.includes('cannot be served'))).toHaveLength(1);
  });
});
