// A reader for systemd unit files (systemd.syntax(7)), enough for tests:
// sections, `Key=value` lines, `#`/`;` comments, backslash line
// continuation; a key given several times keeps every value in order (as
// systemd does for list settings such as CapabilityBoundingSet=).
import { readFile } from 'node:fs/promises';

export type UnitFile = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

export function parseUnitFile(text: string): UnitFile {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq <= 0)
      throw new Error(`unit file line ${index + 1}: cannot parse "${line}"`);
    const key = line.slice(0, eq).trim();
    const values = current.get(key) ?? [];
    values.push(line.slice(eq + 1).trim());
    current.set(key, values);
  }
  return sections;
}

export async function readUnitFile(file: string): Promise<UnitFile> {
  return parseUnitFile(await readFile(file, 'utf8'));
}

/** Every value of section.key, in order; [] when absent. */
export function values(unit: UnitFile, section: string, key: string): readonly string[] {
  return unit.get(section)?.get(key) ?? [];
}

/** The words of a space-separated list setting, over all its lines. */
export function words(unit: UnitFile, section: string, key: string): string[] {
  return values(unit, section, key).flatMap((v) => v.split(/\s+/).filter((w) => w !== ''));
}

/** The single value of section.key; throws when absent or repeated. */
export function value(unit: UnitFile, section: string, key: string): string {
  const all = values(unit, section, key);
  if (all.length !== 1) throw new Error(`[${section}] ${key}= appears ${all.length} times`);
  return all[0]!;
}
