import { describe, expect, it } from 'vitest';
import { JsonFramer } from '../../../src/ovsdb/framing.js';

// Messages shaped like ovsdb-server's, with the hard cases for a framer:
// braces and brackets inside strings, escaped quotes and backslashes,
// multi-byte UTF-8 (2, 3 and 4 bytes) and nesting.
const corpus: string[] = [
  '{"id":1,"result":["OVN_Southbound","_Server"],"error":null}',
  '{"method":"echo","params":[],"id":"echo"}',
  '{"id":null,"method":"update3","params":["sb","6a1c0e3c-0e0e-4e0e-8e0e-0e0e0e0e0e0e",' +
    '{"Port_Binding":{"4f2a":{"modify":{"external_ids":["map",[["neutron:cidrs","10.0.0.5/24"]]]}}}}]}',
  '{"id":2,"result":{"name":"x{y}[z]","q":"say \\"hi\\" {","b":"\\\\","c":"\\\\\\"}"},"error":null}',
  '{"id":3,"result":[{"s":"ünïcødé","e":"€ 漢字","emoji":"🚀🛰️"}],"error":null}',
  '[1,[2,[3,{"a":"]"}]]]',
  '{"id":4,"result":{},"error":null}',
  '{"id":5,"error":{"error":"unknown method","details":"x\\\\"},"result":null}',
];
const stream = Buffer.from(corpus.join(''), 'utf8');

function frameAll(chunks: Buffer[]): string[] {
  const framer = new JsonFramer();
  const out: string[] = [];
  for (const c of chunks) out.push(...framer.push(c));
  expect(framer.inFrame).toBe(false);
  return out;
}

describe('JsonFramer (RFC 7047 §4: back-to-back JSON values)', () => {
  it('frames a whole stream in one chunk', () => {
    expect(frameAll([stream])).toEqual(corpus);
    for (const text of frameAll([stream])) expect(() => JSON.parse(text)).not.toThrow();
  });

  it('frames the stream split at every offset into two chunks', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(frameAll([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(corpus);
    }
  });

  it('frames the stream split at every pair of offsets into three chunks', () => {
    const msg = Buffer.from(corpus[3]! + corpus[4]!, 'utf8');
    for (let a = 0; a <= msg.length; a++) {
      for (let b = a; b <= msg.length; b++) {
        const got = frameAll([msg.subarray(0, a), msg.subarray(a, b), msg.subarray(b)]);
        expect(got).toEqual([corpus[3], corpus[4]]);
      }
    }
  });

  it('frames the stream fed byte by byte, including split multi-byte characters', () => {
    const bytes: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) bytes.push(stream.subarray(i, i + 1));
    expect(frameAll(bytes)).toEqual(corpus);
  });

  it('returns nothing until a frame completes, then exactly that frame', () => {
    const framer = new JsonFramer();
    const msg = Buffer.from('{"a":"}"}');
    expect(framer.push(msg.subarray(0, 6))).toEqual([]);
    expect(framer.inFrame).toBe(true);
    expect(framer.push(msg.subarray(6))).toEqual(['{"a":"}"}']);
  });

  it('accepts whitespace between messages and two messages in one chunk', () => {
    const framer = new JsonFramer();
    expect(framer.push(Buffer.from(' \n{"a":1}\r\n\t {"b":[2]}  '))).toEqual(['{"a":1}', '{"b":[2]}']);
  });

  it('keeps a backslash at the end of a chunk as an escape for the next chunk', () => {
    const framer = new JsonFramer();
    expect(framer.push(Buffer.from('{"a":"x\\'))).toEqual([]);
    expect(framer.push(Buffer.from('"}"}'))).toEqual(['{"a":"x\\"}"}']);
  });

  it('rejects bytes outside any value with OVSDB_MALFORMED_MESSAGE', () => {
    const framer = new JsonFramer({ remote: 'tcp:127.0.0.1:6642' });
    expect(() => framer.push(Buffer.from('{"a":1} x'))).toThrow(
      expect.objectContaining({ code: 'OVSDB_MALFORMED_MESSAGE', retryable: true }),
    );
    expect(() => new JsonFramer().push(Buffer.from('42'))).toThrow(/tcp|peer|0x34/);
  });

  it('caps the frame size with OVSDB_FRAME_TOO_LARGE, across chunks and within one', () => {
    const framer = new JsonFramer({ maxFrameBytes: 16, remote: 'unix:/x' });
    expect(framer.push(Buffer.from('{"a":"0123456"}'))).toHaveLength(1); // 15 bytes: fine
    framer.push(Buffer.from('{"a":"0123'));
    expect(() => framer.push(Buffer.from('4567890'))).toThrow(
      expect.objectContaining({ code: 'OVSDB_FRAME_TOO_LARGE' }),
    );
    expect(framer.inFrame).toBe(false);
    expect(() => new JsonFramer({ maxFrameBytes: 8 }).push(Buffer.from('{"a":"0123456"}'))).toThrow(
      expect.objectContaining({ code: 'OVSDB_FRAME_TOO_LARGE' }),
    );
  });

  it('frames a 20,000-row message split into 64 KiB chunks as exactly that message', () => {
    const rows: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++)
      rows[`uuid-${i}`] = { initial: { logical_port: `p{${i}}`, mac: ['set', []] } };
    const text = JSON.stringify({ id: 7, result: rows, error: null });
    const buf = Buffer.from(text);
    const framer = new JsonFramer();
    const out: string[] = [];
    for (let i = 0; i < buf.length; i += 65_536) out.push(...framer.push(buf.subarray(i, i + 65_536)));
    expect(out).toEqual([text]);
  });

  it('flags frames with a 16+ digit run outside strings (possible integer beyond 2^53), at any split', () => {
    const text =
      '{"a":"12345678901234567890","n":123456789012345}' + // digits in a string, 15-digit number: exact with JSON.parse
      '{"n":[9223372036854775807]}' + // 19 digits: parse exactly
      '{"n":1234567890123456}'; // 16 digits
    const buf = Buffer.from(text);
    for (let cut = 0; cut <= buf.length; cut++) {
      const framer = new JsonFramer();
      const flags: boolean[] = [];
      for (const part of [buf.subarray(0, cut), buf.subarray(cut)]) {
        framer.push(part);
        flags.push(...framer.longNumbers);
      }
      expect(flags).toEqual([false, true, true]);
    }
  });
});
