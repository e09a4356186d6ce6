// The listener holder in real network namespaces (root): a socket is handed
// out again only while its namespace is the one it was made in. A namespace
// deleted and made again under the same name gets a new socket, and the
// holder's bookkeeping stays per key (no walk of every held socket per
// request, which made a start with many networks quadratic).
import { closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ListenerHolder } from '../../../src/proxy/holder-client.js';

const NS = `pxhold-${process.pid}`;
const OTHER = `pxhold-${process.pid}-b`;
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'ignore' });
const open = (holder: ListenerHolder, ns: string, key: string) => {
  const r = holder.open({ key, namespace: `/run/netns/${ns}`, host: '127.0.0.1', port: 8080, backlog: 16 });
  if (!('fd' in r)) throw new Error(`${r.code}: ${r.message}`);
  closeSync(r.fd);
  return r;
};

describe('listener holder and namespaces', () => {
  let holder: ListenerHolder;
  const path = join(tmpdir(), `ovnmeta-holder-netns-${process.pid}.sock`);
  beforeAll(async () => {
    for (const ns of [NS, OTHER]) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    holder = await ListenerHolder.connect(path, 10_000);
  });
  afterAll(() => {
    holder?.exit();
    for (const ns of [NS, OTHER]) {
      try {
        ip('netns', 'delete', ns);
      } catch {
        // gone already
      }
    }
  });

  it('adopts a socket while its namespace stands; a namespace made again gets a new one', () => {
    expect(open(holder, NS, 'a').adopted).toBe(false);
    expect(open(holder, OTHER, 'b').adopted).toBe(false);
    expect(open(holder, NS, 'a').adopted).toBe(true);
    ip('netns', 'delete', NS);
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    // Not the old socket (it listens in the namespace that is gone).
    expect(open(holder, NS, 'a').adopted).toBe(false);
    expect(open(holder, NS, 'a').adopted).toBe(true);
    // The other key was not touched by that.
    expect(open(holder, OTHER, 'b').adopted).toBe(true);
    expect(ListenerHolder.status(path)?.held).toBe(2);
  });
});
