/**
 * neutron's identifiers for this agent (neutron-compat.md "Registration"):
 * the chassis UUID is `system-id` when it parses as a UUID, else UUIDv5 of
 * it in a fixed namespace; the agent id is UUIDv5 of `metadata_agent` in the
 * namespace of the chassis UUID. Pure.
 */
import { createHash } from 'node:crypto';
import type { AgentRole } from './agent-role.js';

const SYSTEM_ID_NAMESPACE = 'd34bf9f6-da32-4871-9af8-15a4626b41ab';
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function format(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Python's uuid.UUID(s) accepts hyphen-less and braced forms; so do we. */
export function parseUuid(s: string): string | undefined {
  const t = s
    .trim()
    .replace(/^\{(.*)\}$/, '$1')
    .replace(/^urn:uuid:/i, '');
  return UUID.test(t) ? format(t.replace(/-/g, '').toLowerCase()) : undefined;
}

/** RFC 4122 §4.3 name-based UUID, version 5 (SHA-1). */
export function uuid5(name: string, namespace: string): string {
  const ns = Buffer.from(parseUuid(namespace)!.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  return format(hash.subarray(0, 16).toString('hex'));
}

/** The chassis UUID; `namespace` is the agent's (agent-role.ts chassisNamespace). */
export function chassisUuid(systemId: string, namespace: string = SYSTEM_ID_NAMESPACE): string {
  return parseUuid(systemId) ?? uuid5(systemId, namespace);
}

export function metadataAgentId(systemId: string): string {
  return uuid5('metadata_agent', chassisUuid(systemId));
}

/**
 * The id that agent writes: uuid5(idName, chassis UUID), the chassis UUID
 * taken in that agent's namespace (neutron master: MetadataAgent.
 * register_metadata_agent, OVNNeutronAgent.register_ovn_agent / load_config).
 */
export function agentIdFor(role: Pick<AgentRole, 'idName' | 'chassisNamespace'>, systemId: string): string {
  return uuid5(role.idName, chassisUuid(systemId, role.chassisNamespace));
}
