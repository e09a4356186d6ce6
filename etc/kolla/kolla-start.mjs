#!/usr/bin/env node
// kolla_start for the ovnmeta image (scripts/image.sh): kolla-ansible and
// EDPM start their containers with no command and KOLLA_CONFIG_STRATEGY set;
// kolla's images then run kolla_start, which copies the files listed in
// /var/lib/kolla/config_files/config.json to their places and runs its
// "command". This does the same, as root (the image has no `neutron` user:
// "owner" is ignored), and prints the command for the image's entrypoint to
// exec (docs/deploy.md, kolla-ansible). Plain JavaScript: it ships as is.
import fs from 'node:fs';
import path from 'node:path';

const CONFIG = process.env.KOLLA_CONFIG_FILE || '/var/lib/kolla/config_files/config.json';

function copy(source, dest, perm) {
  const st = fs.statSync(source);
  if (st.isDirectory()) {
    fs.mkdirSync(dest, { recursive: true });
    for (const name of fs.readdirSync(source)) copy(path.join(source, name), path.join(dest, name), perm);
    return;
  }
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(source, dest);
  if (perm) fs.chmodSync(dest, parseInt(perm, 8));
}

/** A source may end in a glob: `dir/*` or `dir/*.conf`. */
function expand(source) {
  const base = path.basename(source);
  if (!base.includes('*')) return fs.existsSync(source) ? [source] : [];
  const dir = path.dirname(source);
  if (!fs.existsSync(dir)) return [];
  const re = new RegExp(`^${base.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return fs
    .readdirSync(dir)
    .filter((n) => re.test(n))
    .map((n) => path.join(dir, n));
}

const config = JSON.parse(fs.readFileSync(CONFIG, 'utf8'));
if (typeof config.command !== 'string' || config.command.trim() === '') {
  process.stderr.write(`kolla-start: ${CONFIG} has no "command"\n`);
  process.exit(2);
}
const strategy = process.env.KOLLA_CONFIG_STRATEGY || 'COPY_ALWAYS';
const stamp = '/run/ovnmeta-kolla-copied';
if (strategy === 'COPY_ALWAYS' || !fs.existsSync(stamp)) {
  for (const f of config.config_files || []) {
    const sources = expand(f.source);
    if (sources.length === 0) {
      if (f.optional) continue;
      process.stderr.write(`kolla-start: ${f.source} (in ${CONFIG}) does not exist\n`);
      process.exit(2);
    }
    const intoDir = f.dest.endsWith('/') || sources.length > 1 || f.source.includes('*');
    for (const s of sources) copy(s, intoDir ? path.join(f.dest, path.basename(s)) : f.dest, f.perm);
  }
  fs.writeFileSync(stamp, '');
}
process.stdout.write(config.command);
