import { describe, expect, test } from 'vitest';
import { IniSyntaxError, parseOsloIni } from '../../../../src/agent/config/oslo-ini.js';

/** section -> option -> value, for compact assertions. */
function values(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [section, options] of parseOsloIni(text)) {
    out[section] = Object.fromEntries([...options].map(([k, v]) => [k, v.value]));
  }
  return out;
}

describe('parseOsloIni (oslo_config/iniparser.py rules)', () => {
  test('comments only at column 0; # and ; inside values are data', () => {
    expect(
      values('# c1\n; c2\n[DEFAULT]\n# c3\nsecret = a#b;c # not a comment\nurl = mysql://u:p@h/db?x=1\n'),
    ).toEqual({ DEFAULT: { secret: 'a#b;c # not a comment', url: 'mysql://u:p@h/db?x=1' } });
  });

  test('key = value and key: value, split at the first separator', () => {
    expect(values('[s]\na=1\nb : 2\nc = x:y=z\nd: p=q\ne =\n')).toEqual({
      s: { a: '1', b: '2', c: 'x:y=z', d: 'p=q', e: '' },
    });
  });

  test('one pair of matching quotes is removed, nothing else unescaped', () => {
    expect(values(`[s]\na = "x y"\nb = 'q'\nc = "x'\nd = "a\\"b"\ne = "\n`)).toEqual({
      s: { a: 'x y', b: 'q', c: `"x'`, d: 'a\\"b', e: '"' },
    });
  });

  test('values are not typed: true stays text', () => {
    expect(values('[s]\na = true\nb = null\nc[] = 1\n')).toEqual({ s: { a: 'true', b: 'null', 'c[]': '1' } });
  });

  test('continuation lines join with newlines; a blank line ends them', () => {
    expect(values('[s]\na = one\n  two\n\tthree\n\nb = x\n')).toEqual({
      s: { a: 'one\ntwo\nthree', b: 'x' },
    });
  });

  test('section names: DEFAULT exact, others lower-cased; repeated sections merge; last key wins', () => {
    const ini = parseOsloIni('[OVN]\na = 1\n[DEFAULT]\nx = 1\n[ovn]\nb = 2\na = 3\n[default]\ny = 2\n');
    expect([...ini.keys()]).toEqual(['ovn', 'DEFAULT', 'default']);
    expect(ini.get('ovn')?.get('a')).toEqual({ value: '3', line: 7 });
    expect(ini.get('ovn')?.get('b')).toEqual({ value: '2', line: 6 });
  });

  test('a byte order mark is skipped', () => {
    expect(values('\ufeff[DEFAULT]\nk = v\n')).toEqual({ DEFAULT: { k: 'v' } });
  });

  test('CRLF files and dotted section names read as written', () => {
    expect(values('[a.b]\r\nk = v\r\n')).toEqual({ 'a.b': { k: 'v' } });
  });

  test.each([
    ['[s]\nno separator here\n', 2, "no '=' or ':' in an assignment"],
    ['[s]\n= v\n', 2, 'empty key'],
    ['  indented = first\n', 1, 'continuation line without a key before it'],
    ['[s\n', 1, 'section header does not end with ]'],
    ['[]\n', 1, 'empty section name'],
    ['a = 1\n[s]\n', 1, 'assignment before any [section]'],
  ])('rejects %j at line %i', (text, line, reason) => {
    let caught: unknown;
    try {
      parseOsloIni(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(IniSyntaxError);
    expect(caught).toMatchObject({ line, reason });
  });
});
