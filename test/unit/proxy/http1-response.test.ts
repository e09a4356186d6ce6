// The relay's HTTP/1.1 response parser on byte streams: every answer is also
// fed in every two-piece split and one byte at a time, as TCP may deliver it.
import { describe, expect, it } from 'vitest';

import { MAX_HEAD_BYTES, ResponseParseError, ResponseParser } from '../../../src/proxy/http1-response.js';

interface Parsed {
  done: boolean;
  status: number;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  keepAlive: boolean;
  keepAliveTimeoutMs: number | undefined;
  extra: boolean;
  body: string | undefined;
}

function feed(pieces: Buffer[], options: { noBody?: boolean; eof?: boolean } = {}): Parsed {
  const parser = new ResponseParser();
  parser.reset(options.noBody ?? false);
  let done = false;
  for (const piece of pieces) done = parser.execute(piece);
  if (!done && options.eof === true) done = parser.finish();
  return {
    done,
    status: parser.status,
    contentType: parser.contentType,
    contentEncoding: parser.contentEncoding,
    keepAlive: parser.keepAlive,
    keepAliveTimeoutMs: parser.keepAliveTimeoutMs,
    extra: parser.extra,
    body: done ? parser.body().toString('latin1') : undefined,
  };
}

/** The same result whole, in every two-piece split and byte by byte. */
function parseEveryWay(text: string, options: { noBody?: boolean; eof?: boolean } = {}): Parsed {
  const bytes = Buffer.from(text, 'latin1');
  const whole = feed([bytes], options);
  for (let cut = 1; cut < bytes.length; cut++) {
    expect(feed([bytes.subarray(0, cut), bytes.subarray(cut)], options), `split at ${cut}`).toEqual(whole);
  }
  const single = [...bytes].map((b) => Buffer.from([b]));
  expect(feed(single, options), 'byte by byte').toEqual(whole);
  return whole;
}

function parseError(text: string, noBody = false): ResponseParseError {
  const parser = new ResponseParser();
  parser.reset(noBody);
  try {
    parser.execute(Buffer.from(text, 'latin1'));
  } catch (error) {
    expect(error).toBeInstanceOf(ResponseParseError);
    return error as ResponseParseError;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
}

describe('ResponseParser', () => {
  it('reads a Content-Length answer: status, type, encoding, body, kept alive', () => {
    expect(
      parseEveryWay(
        'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Encoding: gzip\r\n' +
          'X-Other: a: b\r\nContent-Length: 11\r\n\r\nhello world',
      ),
    ).toEqual({
      done: true,
      status: 200,
      contentType: 'text/plain; charset=UTF-8',
      contentEncoding: 'gzip',
      keepAlive: true,
      keepAliveTimeoutMs: undefined,
      extra: false,
      body: 'hello world',
    });
  });

  it('keeps the first Content-Type and trims spaces and tabs around values', () => {
    const parsed = parseEveryWay(
      'HTTP/1.1 404 Not Found\r\ncontent-type: \t application/json \t\r\nCONTENT-TYPE: text/html\r\ncontent-length:2\r\n\r\n{}',
    );
    expect(parsed).toMatchObject({ status: 404, contentType: 'application/json', body: '{}' });
  });

  it('reads a chunked body with extensions and trailers, binary data intact', () => {
    const data = '\r\n0\r\n\u00ff\u0000';
    const parsed = parseEveryWay(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `5;name=value\r\nhello\r\n${data.length.toString(16)}\r\n${data}\r\n` +
        'A\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n',
    );
    expect(parsed).toMatchObject({
      done: true,
      keepAlive: true,
      extra: false,
      body: `hello${data}0123456789`,
    });
  });

  it('reads a body that lasts until the connection ends, and does not keep that connection', () => {
    const parsed = parseEveryWay('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it', {
      eof: true,
    });
    expect(parsed).toMatchObject({ done: true, keepAlive: false, body: 'all of it' });
    // Before the end it is not complete.
    expect(feed([Buffer.from('HTTP/1.1 200 OK\r\n\r\nall of it')])).toMatchObject({ done: false });
  });

  it('knows an answer cut short by the end of the connection', () => {
    const parser = new ResponseParser();
    parser.reset(false);
    expect(parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'))).toBe(false);
    expect(parser.finish()).toBe(false);
    parser.reset(false);
    expect(parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'))).toBe(
      false,
    );
    expect(parser.finish()).toBe(false);
    parser.reset(false);
    expect(parser.execute(Buffer.from('HTTP/1.1 200 O'))).toBe(false);
    expect(parser.finish()).toBe(false);
  });

  it('follows Connection and the HTTP version for keep-alive, and reads a Keep-Alive timeout', () => {
    expect(parseEveryWay('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(
      false,
    );
    expect(
      parseEveryWay('HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\nContent-Length: 0\r\n\r\n').keepAlive,
    ).toBe(false);
    expect(parseEveryWay('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(false);
    expect(
      parseEveryWay(
        'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n',
      ),
    ).toMatchObject({ keepAlive: true, keepAliveTimeoutMs: 5_000 });
  });

  it('reads no body after HEAD, 204 and 304, whatever the length says', () => {
    expect(parseEveryWay('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', { noBody: true })).toMatchObject({
      done: true,
      keepAlive: true,
      body: '',
    });
    for (const status of [204, 304]) {
      expect(parseEveryWay(`HTTP/1.1 ${status} X\r\nContent-Length: 10\r\n\r\n`)).toMatchObject({
        done: true,
        status,
        body: '',
      });
    }
  });

  it('skips interim 1xx answers', () => {
    expect(
      parseEveryWay(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      ),
    ).toMatchObject({ done: true, status: 200, body: 'ok' });
  });

  it('lets Transfer-Encoding win over Content-Length, without keeping the connection', () => {
    expect(
      parseEveryWay(
        'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      ),
    ).toMatchObject({ done: true, keepAlive: false, body: 'ok' });
    // A final coding other than chunked: the body lasts until the end.
    expect(
      parseEveryWay('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nraw', { eof: true }),
    ).toMatchObject({
      done: true,
      keepAlive: false,
      body: 'raw',
    });
  });

  it('flags bytes after the end of the answer', () => {
    expect(feed([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1')])).toMatchObject({
      done: true,
      extra: true,
      body: 'ok',
    });
    expect(
      feed([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), Buffer.from('junk')]),
    ).toMatchObject({ done: true, extra: true });
  });

  it('reads one answer after another once reset', () => {
    const parser = new ResponseParser();
    parser.reset(false);
    expect(
      parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: a\r\nContent-Length: 1\r\n\r\n1')),
    ).toBe(true);
    parser.reset(false);
    expect(parser.execute(Buffer.from('HTTP/1.1 503 No\r\nContent-Length: 1\r\n\r\n2'))).toBe(true);
    expect([parser.status, parser.contentType, parser.body().toString()]).toEqual([503, undefined, '2']);
  });

  it.each([
    ['a status line that is not HTTP/1.x', 'HTTP/2 200 OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['a two-digit status', 'HTTP/1.1 20 OK\r\n\r\n', 'HPE_INVALID_CONSTANT'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nbroken\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a folded header line', 'HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['a bare LF', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', 'HPE_LF_EXPECTED'],
    [
      'a control character in a header the VM gets back',
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\nX-Evil: 1\r\nContent-Length: 0\r\n\r\n',
      'HPE_INVALID_HEADER_TOKEN',
    ],
    [
      'a Content-Length that is not a number',
      'HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n',
      'HPE_INVALID_CONTENT_LENGTH',
    ],
    ['an empty Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
    [
      'a Content-Length of 16 digits',
      'HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456\r\n\r\n',
      'HPE_INVALID_CONTENT_LENGTH',
    ],
    [
      'two different Content-Lengths',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'HPE_UNEXPECTED_CONTENT_LENGTH',
    ],
    [
      'a chunk size that is not hex',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'HPE_INVALID_CHUNK_SIZE',
    ],
    [
      'chunk data longer than its size',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n',
      'HPE_STRICT',
    ],
    ['a 101 Switching Protocols', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', 'HPE_UPGRADE'],
  ])('refuses %s', (_what, text, code) => {
    expect(parseError(text).code).toBe(code);
  });

  it(`refuses a head over ${MAX_HEAD_BYTES} bytes, whole or in pieces`, () => {
    const head = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`;
    expect(parseError(head).code).toBe('HPE_HEADER_OVERFLOW');
    const parser = new ResponseParser();
    parser.reset(false);
    const bytes = Buffer.from(head);
    expect(() => {
      for (let at = 0; at < bytes.length; at += 1000) parser.execute(bytes.subarray(at, at + 1000));
    }).toThrow(expect.objectContaining({ code: 'HPE_HEADER_OVERFLOW' }));
  });
});
