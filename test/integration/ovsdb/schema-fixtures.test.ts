// The unit ring's schema copies (test/fixtures/schemas) are the schemas the
// installed Debian packages ship: when the packages move on, copy them again.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string | URL): unknown => JSON.parse(readFileSync(path, 'utf8'));
const fixture = (name: string): URL => new URL(`../../fixtures/schemas/${name}`, import.meta.url);

describe('schema fixtures', () => {
  it.each([
    ['ovn-sb.ovsschema', '/usr/share/ovn/ovn-sb.ovsschema'],
    ['vswitch.ovsschema', '/usr/share/openvswitch/vswitch.ovsschema'],
  ])('%s equals %s', (name, installed) => {
    expect(read(fixture(name))).toEqual(read(installed));
  });
});
