// The real OVN Southbound and Open_vSwitch schemas, from the repository's
// copies (test/fixtures/schemas), never from the system: the unit ring needs
// no Debian package.
import { readFileSync } from 'node:fs';
import { parseSchema, type DatabaseSchema } from '../../src/ovsdb/wire/schema.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/schemas/${name}`, import.meta.url), 'utf8'));

export const sbSchemaJson = (): unknown => fixture('ovn-sb.ovsschema');
export const vswitchSchemaJson = (): unknown => fixture('vswitch.ovsschema');
export const sbSchema = (): DatabaseSchema => parseSchema(sbSchemaJson());
