// The proxy checks. "Answering": from inside the namespace, a request to
// the metadata address gets an HTTP status, any status (the namespace's own
// address is no VM's, so the proxy's 404 is the expected answer). "Probe":
// through metadata_proxy_socket, as haproxy would forward a VM's request,
// nova's answer for /latest/meta-data/instance-id must be the VM's
// neutron:device_id — identity lookup, signing and the relay in one. Pure.
import { describeHolders, type PortHolders } from '../namespace/index.js';
import type { Check, CheckName, HttpObservation } from './types.js';

/**
 * `owner`: who holds the port (src/namespace socket-owner) and the listener
 * holder's control socket path, which its command line names. When the
 * port is held and none of its holders is ovnmeta's listener holder (a
 * leftover haproxy, a neutron-haproxy-<ns> sidecar), the check fails naming
 * them, answered or not.
 */
export function proxyCheck(
  name: CheckName,
  url: string,
  namespace: string,
  obs: HttpObservation,
  owner?: { readonly holders: PortHolders; readonly listenerHolder: string },
): Check {
  if (owner !== undefined && owner.holders.sockets.length > 0) {
    const ours = owner.holders.owners.filter((o) => o.command.includes(owner.listenerHolder));
    if (ours.length === 0) {
      return {
        name,
        status: 'fail',
        reason: `${url} in ${namespace} is held by ${describeHolders(owner.holders)}, not by ovnmeta's listener holder (${owner.listenerHolder}): stop it (docs/deploy.md, migration)`,
      };
    }
    if (obs.kind === 'answered') {
      const pids = ours.map((o) => o.pid).join(', ');
      return {
        name,
        status: 'pass',
        detail: `${url} answered HTTP ${obs.status} (listener holder pid ${pids})`,
      };
    }
  }
  switch (obs.kind) {
    case 'answered':
      return { name, status: 'pass', detail: `${url} answered HTTP ${obs.status}` };
    case 'refused':
      return { name, status: 'fail', reason: `nothing listens on ${url} in ${namespace} (${obs.reason})` };
    case 'no-answer':
      return { name, status: 'fail', reason: `no HTTP answer from ${url} in ${namespace}: ${obs.reason}` };
  }
}

const snippet = (body: string): string => JSON.stringify(body.trim().slice(0, 120));

export function probeCheck(
  vmPort: string,
  sourceIp: string,
  instanceId: string | undefined,
  socketPath: string,
  obs: HttpObservation,
): Check {
  const base = { name: 'probe', subject: vmPort } as const;
  if (obs.kind !== 'answered') {
    const why = obs.kind === 'refused' ? 'nothing listens there; is the agent running?' : 'no HTTP answer';
    return { ...base, status: 'fail', reason: `metadata_proxy_socket ${socketPath}: ${why} (${obs.reason})` };
  }
  const as = `as ${sourceIp}`;
  if (obs.status === 403) {
    return {
      ...base,
      status: 'fail',
      reason: `${as}: nova answered 403 ${snippet(obs.body)}: metadata_proxy_shared_secret differs between ovnmeta and nova`,
    };
  }
  if (obs.status !== 200) {
    return { ...base, status: 'fail', reason: `${as}: HTTP ${obs.status} ${snippet(obs.body)}` };
  }
  if (instanceId === undefined) {
    return {
      ...base,
      status: 'fail',
      reason: `port has no neutron:device_id; nova answered ${snippet(obs.body)}`,
    };
  }
  if (obs.body.trim() !== instanceId) {
    return {
      ...base,
      status: 'fail',
      reason: `${as}: nova answered instance-id ${snippet(obs.body)}, want ${instanceId} (neutron:device_id)`,
    };
  }
  return { ...base, status: 'pass', detail: `${as}: instance-id ${instanceId}` };
}
