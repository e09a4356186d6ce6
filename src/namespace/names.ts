// Names neutron gives one network's plumbing (neutron/agent/ovn/metadata/
// agent.py: _get_veth_name, _get_namespace_name), kept byte-for-byte so that
// ovnmeta adopts what neutron-ovn-metadata-agent left on a chassis and the
// other way round. Pure.

export const NAMESPACE_PREFIX = 'ovnmeta-';

/** `ovnmeta-<network id>`. */
export function namespaceName(networkId: string): string {
  return NAMESPACE_PREFIX + networkId;
}

/**
 * `tap` + the first 10 characters of the network id + `0` (root end) / `1`
 * (namespace end): 14 characters, inside IFNAMSIZ (16 with the NUL).
 * Example: 76af9baf-9fa4-… -> tap76af9baf-90 / tap76af9baf-91.
 */
export function vethNames(networkId: string): { readonly root: string; readonly inside: string } {
  const stem = `tap${networkId.slice(0, 10)}`;
  return { root: `${stem}0`, inside: `${stem}1` };
}
