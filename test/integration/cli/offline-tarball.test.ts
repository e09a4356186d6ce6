// The tarball `npm pack` makes installs where no registry can be reached
// (package.json bundleDependencies carries the production dependencies) and
// gives a working `ovnmeta` without the development ones. Needs `npm run
// build` (the tarball takes dist/).
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovnmeta-pack-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  test('the tarball installs with no registry and no npm cache, and ovnmeta runs', async () => {
    if (!existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('run `npm run build` first');
    await execa('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, timeout: 120_000 });
    const [tgz] = (await readdir(dir)).filter((f) => f.endsWith('.tgz'));
    expect(tgz).toMatch(/^ovnmeta-\d+\.\d+\.\d+\.tgz$/);

    // An empty cache, --offline and a registry nobody listens on: any fetch fails.
    const prefix = join(dir, 'prefix');
    const npmEnv = { npm_config_registry: 'http://127.0.0.1:9/', npm_config_cache: join(dir, 'cache') };
    const install = await execa(
      'npm',
      ['install', '--global', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', join(dir, tgz!)],
      { env: npmEnv, reject: false, timeout: 120_000 },
    );
    expect(install.exitCode, install.stderr).toBe(0);

    const pkg = join(prefix, 'lib/node_modules/ovnmeta');
    const deps = await readdir(join(pkg, 'node_modules'));
    for (const dep of ['convict', 'execa', 'koffi', 'pino', 'prom-client']) expect(deps).toContain(dep);
    // undici is the benches' and tests' HTTP client only: the relay has its own (src/proxy/nova-pool.ts).
    for (const dev of ['vitest', 'typescript', 'eslint', 'prettier', '@types', 'undici'])
      expect(deps).not.toContain(dev);

    const bin = join(prefix, 'bin/ovnmeta');
    const help = await execa(bin, ['--help'], { reject: false });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('usage: ovnmeta <command>');
    // A command that loads the dependencies: the config (convict) and the
    // listener holder's client (koffi).
    const ini = join(dir, 'o.ini');
    await writeFile(ini, `[DEFAULT]\nstate_path = ${dir}\n`);
    const release = await execa(bin, ['release', '--config-file', ini], { reject: false });
    expect({ exit: release.exitCode, out: release.stdout, err: release.stderr }).toEqual({
      exit: 0,
      out: `no listener holder on ${dir}/ovnmeta-listeners.sock`,
      err: '',
    });
  }, 300_000);
});
