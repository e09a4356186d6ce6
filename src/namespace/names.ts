// Names neutron gives one network's plumbing (neutron/agent/ovn/metadata/
// agent.py: _get_veth_name, _get_namespace_name), kept byte-for-byte so that
// ovnmeta adopts what neutron-ovn-metadata-agent left on a chassis and the
// other way round. Pure.
import { NetnsInvalidDesiredError } from './errors.js';
import { formatIpv6 } from './cidr.js';

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

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/** Lower-cased `xx:xx:xx:xx:xx:xx`, or undefined when `text` is not a MAC-48. */
export function normalizeMac(text: string): string | undefined {
  const mac = text.toLowerCase();
  return MAC.test(mac) ? mac : undefined;
}

/**
 * The IPv6 link-local address the kernel derives from `mac` (RFC 4291 §2.5.1
 * and Appendix A: modified EUI-64, universal/local bit inverted, ff:fe in the
 * middle), as neutron computes it for the metadata port
 * (ipv6_utils.get_ipv6_addr_by_EUI64('fe80::/64', mac)). The address only;
 * the agent wants it on the inside end as `${address}/64`.
 * fa:16:3e:9d:cc:52 -> fe80::f816:3eff:fe9d:cc52
 */
export function eui64LinkLocal(mac: string): string {
  const normal = normalizeMac(mac);
  if (normal === undefined) throw new NetnsInvalidDesiredError('eui64LinkLocal', 'mac', mac, 'not a MAC-48');
  const b = normal.split(':').map((h) => Number.parseInt(h, 16));
  const groups = [
    0xfe80,
    0,
    0,
    0,
    ((b[0]! ^ 0x02) << 8) | b[1]!,
    (b[2]! << 8) | 0xff,
    (0xfe << 8) | b[3]!,
    (b[4]! << 8) | b[5]!,
  ];
  return formatIpv6(groups);
}
