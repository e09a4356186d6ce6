/**
 * neutron's identifiers for this agent (neutron-compat.md "Registration"):
 * the chassis UUID is `system-id` when it parses as a UUID, else UUIDv5 of
 * it in a fixed namespace; the agent id is UUIDv5 of `metadata_agent` in the
 * namespace of the chassis UUID. Pure.
 */
import { createHash } from 'node:crypto';

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

export function chassisUuid(systemId: string): string {
  return parseUuid(systemId) ?? uuid5(systemId, SYSTEM_ID_NAMESPACE);
}

export function metadataAgentId(systemId: string): string {
  return uuid5('metadata_agent', chassisUuid(systemId));
}
