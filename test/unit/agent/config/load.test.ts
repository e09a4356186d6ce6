import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  AgentConfigError,
  AgentConfigFileNotFoundError,
  AgentConfigFileUnreadableError,
  AgentConfigSyntaxError,
  envName,
  loadConfig,
  optionEntries,
  optionSource,
  parseConfig,
  redactedConfig,
} from '../../../../src/agent/config/index.js';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovnmeta-config-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `text` to a fresh temp file and returns its path. */
let fileCount = 0;
async function file(text: string): Promise<string> {
  const path = join(dir, `f${fileCount++}.ini`);
  await writeFile(path, text);
  return path;
}

/** The AgentConfigError thrown by `fn`, or a failed test. */
async function configError(fn: () => Promise<unknown>): Promise<AgentConfigError> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AgentConfigError);
  return err as AgentConfigError;
}

describe('defaults', () => {
  test('no files gives neutron defaults', async () => {
    const c = await loadConfig({ files: [], env: {} });
    expect(c.DEFAULT).toEqual({
      nova_metadata_host: '127.0.0.1',
      nova_metadata_port: 8775,
      nova_metadata_protocol: 'http',
      nova_metadata_insecure: false,
      nova_client_cert: '',
      nova_client_priv_key: '',
      auth_ca_cert: '',
      metadata_proxy_shared_secret: '',
      metadata_proxy_socket: '/var/lib/neutron/metadata_proxy',
      metadata_proxy_socket_mode: 'deduce',
      metadata_proxy_user: '',
      metadata_proxy_group: '',
      metadata_workers: null,
      metadata_backlog: 4096,
      state_path: '/var/lib/neutron',
      agent_down_time: 75,
      debug: false,
      log_file: '',
      log_dir: '',
      use_stderr: false,
      use_journal: false,
      use_syslog: false,
      syslog_log_facility: 'LOG_USER',
    });
    expect(c.ovs).toEqual({
      ovsdb_connection: 'unix:/usr/local/var/run/openvswitch/db.sock',
      ovsdb_connection_timeout: 180,
      ssl_key_file: '',
      ssl_cert_file: '',
      ssl_ca_cert_file: '',
    });
    expect(c.ovn).toEqual({
      ovn_sb_connection: 'tcp:127.0.0.1:6642',
      ovn_sb_private_key: '',
      ovn_sb_certificate: '',
      ovn_sb_ca_cert: '',
      ovsdb_connection_timeout: 180,
      ovsdb_probe_interval: 60000,
      ovsdb_retry_max_interval: 180,
    });
    expect(c.metadata_rate_limiting).toEqual({
      rate_limit_enabled: false,
      ip_versions: [4],
      base_window_duration: 10,
      base_query_rate_limit: 10,
      burst_window_duration: 10,
      burst_query_rate_limit: 10,
    });
    expect(c.metadata_haproxy).toEqual({
      timeout_connect: 30,
      timeout_client: 32,
      timeout_server: 32,
      timeout_http_request: 30,
      timeout_http_keep_alive: 30,
    });
    expect(c.ovnmeta).toEqual({
      metrics_bind: { host: '127.0.0.1', port: 9105 },
      reconcile_workers: 8,
      resync_interval: 300,
      nova_metadata_timeout: 32,
      sb_monitor: 'conditional',
      listener_holder_socket: '/var/lib/neutron/ovnmeta-listeners.sock',
    });
    expect(optionSource(c, 'ovn', 'ovn_sb_connection')).toEqual({ kind: 'default' });
  });

  test('the config is frozen, sections and values too', async () => {
    const c = await loadConfig({ files: [], env: {} });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.DEFAULT)).toBe(true);
    expect(Object.isFrozen(c.metadata_rate_limiting.ip_versions)).toBe(true);
    expect(() => {
      (c.DEFAULT as { debug: boolean }).debug = true;
    }).toThrow(TypeError);
  });
});

describe('real neutron files', () => {
  test('neutron.conf + neutron_ovn_metadata_agent.ini: ours read, the rest ignored', async () => {
    const files = [join(fixtures, 'neutron.conf'), join(fixtures, 'neutron_ovn_metadata_agent.ini')];
    const c = await loadConfig({ files, env: {} });
    expect(c.DEFAULT.nova_metadata_host).toBe('10.0.0.10');
    expect(c.DEFAULT.debug).toBe(true);
    expect(c.DEFAULT.metadata_workers).toBe(2);
    expect(c.DEFAULT.metadata_proxy_socket).toBe('/opt/stack/data/neutron/metadata_proxy');
    // oslo keeps `#` and `;` inside values and reads `$$` as `$`.
    expect(c.DEFAULT.metadata_proxy_shared_secret).toBe('s3cr#t;with=odd$chars');
    expect(c.ovs.ovsdb_connection).toBe('tcp:127.0.0.1:6640');
    expect(c.ovn.ovn_sb_connection).toBe('tcp:10.0.0.10:6642');
    expect(c.metadata_rate_limiting.rate_limit_enabled).toBe(true);
    expect(c.metadata_rate_limiting.ip_versions).toEqual([4, 6]);
    expect(Object.keys(c)).toEqual([
      'DEFAULT',
      'agent',
      'ovs',
      'ovn',
      'metadata_rate_limiting',
      'metadata_haproxy',
      'ovnmeta',
    ]);
    expect(Object.keys(c.ovn)).not.toContain('ovn_metadata_enabled');
    expect(optionSource(c, 'ovn', 'ovn_sb_connection')).toEqual({
      kind: 'file',
      file: files[1],
      line: 16,
    });
  });
});

describe('several files', () => {
  test('later files win option by option', async () => {
    const a = await file('[DEFAULT]\nnova_metadata_host = a.example\nnova_metadata_port = 1111\n');
    const b = await file(
      '[DEFAULT]\nnova_metadata_port = 2222\n[ovn]\novn_sb_connection = ssl:10.0.0.1:6642\n',
    );
    const c = await loadConfig({ files: [a, b], env: {} });
    expect(c.DEFAULT.nova_metadata_host).toBe('a.example');
    expect(c.DEFAULT.nova_metadata_port).toBe(2222);
    expect(c.ovn.ovn_sb_connection).toBe('ssl:10.0.0.1:6642');
    expect(optionSource(c, 'DEFAULT', 'nova_metadata_host')).toMatchObject({ file: a });
    expect(optionSource(c, 'DEFAULT', 'nova_metadata_port')).toMatchObject({ file: b, line: 2 });
  });

  test('state_path set in one file, used by a default and by another file', async () => {
    const a = await file('[DEFAULT]\nstate_path = /srv/neutron\n');
    const c1 = await loadConfig({ files: [a], env: {} });
    expect(c1.DEFAULT.metadata_proxy_socket).toBe('/srv/neutron/metadata_proxy');
    const b = await file('[DEFAULT]\nmetadata_proxy_socket = ${state_path}/sock.d/$$x\n');
    const c2 = await loadConfig({ files: [b, a], env: {} });
    expect(c2.DEFAULT.metadata_proxy_socket).toBe('/srv/neutron/sock.d/$x');
  });

  test('a missing file is AGENT_CONFIG_FILE_NOT_FOUND naming it', async () => {
    const a = await file('[DEFAULT]\n');
    const missing = join(dir, 'no-such.ini');
    const err = await loadConfig({ files: [a, missing], env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentConfigFileNotFoundError);
    expect(err).toMatchObject({ code: 'AGENT_CONFIG_FILE_NOT_FOUND', retryable: false, file: missing });
    expect(String(err)).toContain(missing);
  });

  test('a directory is AGENT_CONFIG_FILE_UNREADABLE', async () => {
    const d = join(dir, 'a-directory.ini');
    await mkdir(d);
    const err = await loadConfig({ files: [d], env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentConfigFileUnreadableError);
    expect(err).toMatchObject({
      code: 'AGENT_CONFIG_FILE_UNREADABLE',
      message: `config file ${d} cannot be read (EISDIR)`,
    });
  });

  test('a line oslo rejects is AGENT_CONFIG_SYNTAX with file and line, not the text', async () => {
    const a = await file('[DEFAULT]\ndebug = true\nmetadata_proxy_shared_secret hunter2\n');
    const err = await loadConfig({ files: [a], env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentConfigSyntaxError);
    expect(err).toMatchObject({ code: 'AGENT_CONFIG_SYNTAX', file: a, line: 3 });
    expect((err as Error).message).toBe(`config file ${a} line 3: no '=' or ':' in an assignment`);
  });
});

describe('bad values', () => {
  const cases: [string, string, string, string][] = [
    ['DEFAULT', 'nova_metadata_port', 'eighty', 'must be a port number (1-65535)'],
    ['DEFAULT', 'nova_metadata_port', '0', 'must be a port number (1-65535)'],
    ['DEFAULT', 'nova_metadata_port', '65536', 'must be a port number (1-65535)'],
    ['DEFAULT', 'nova_metadata_port', '80x', 'must be a port number (1-65535)'],
    ['DEFAULT', 'nova_metadata_protocol', 'HTTPS', 'must be one of: http, https'],
    ['DEFAULT', 'nova_metadata_insecure', 'maybe', 'must be a boolean (true/false, yes/no, on/off, 1/0)'],
    ['DEFAULT', 'metadata_proxy_socket_mode', '0666', 'must be one of: deduce, user, group, all'],
    ['DEFAULT', 'metadata_workers', '-1', 'must be an integer >= 0 or empty'],
    ['DEFAULT', 'metadata_backlog', '1.5', 'must be an integer >= 1'],
    ['DEFAULT', 'agent_down_time', '0', 'must be an integer >= 1'],
    ['ovs', 'ovsdb_connection_timeout', 'soon', 'must be an integer >= 1'],
    ['ovn', 'ovsdb_probe_interval', '-5', 'must be an integer >= 0'],
    ['metadata_rate_limiting', 'ip_versions', '4,5', 'must be a comma-separated list of 4 and 6'],
    ['metadata_rate_limiting', 'ip_versions', '', 'must be a comma-separated list of 4 and 6'],
    ['metadata_rate_limiting', 'base_query_rate_limit', 'ten', 'must be an integer >= 1'],
    [
      'ovnmeta',
      'metrics_bind',
      '9105',
      'must be host:port or [ipv6]:port (port 1-65535), or empty to disable',
    ],
    [
      'ovnmeta',
      'metrics_bind',
      '[::1]:0',
      'must be host:port or [ipv6]:port (port 1-65535), or empty to disable',
    ],
    ['ovnmeta', 'reconcile_workers', '1000', 'must be an integer (1-256)'],
    ['ovnmeta', 'nova_metadata_timeout', '0', 'must be a number of seconds greater than 0'],
    ['ovnmeta', 'nova_metadata_timeout', '1e3', 'must be a number of seconds greater than 0'],
    ['DEFAULT', 'metadata_proxy_socket', '$nowhere/sock', '$nowhere does not name an option'],
  ];
  test.each(cases)('[%s] %s = %j', async (section, option, value, expected) => {
    const path = await file(`[${section}]\n${option} = ${value}\n`);
    const err = await configError(() => loadConfig({ files: [path], env: {} }));
    expect(err.code).toBe('AGENT_CONFIG_INVALID');
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(`[${section}] ${option} = ${JSON.stringify(value)} in ${path}: ${expected}`);
    expect(err.problems).toEqual([
      { section, option, source: { kind: 'file', file: path, line: 2 }, expected, raw: value },
    ]);
  });

  test('every bad option is reported at once', async () => {
    const path = await file(
      '[DEFAULT]\nnova_metadata_port = eighty\ndebug = perhaps\n[ovn]\novsdb_probe_interval = x\n',
    );
    const err = await configError(() => loadConfig({ files: [path], env: {} }));
    expect(err.problems.map((p) => p.option)).toEqual([
      'nova_metadata_port',
      'debug',
      'ovsdb_probe_interval',
    ]);
    expect(err.message.split('\n')).toEqual([
      '3 invalid options:',
      `  [DEFAULT] nova_metadata_port = "eighty" in ${path}: must be a port number (1-65535)`,
      `  [DEFAULT] debug = "perhaps" in ${path}: must be a boolean (true/false, yes/no, on/off, 1/0)`,
      `  [ovn] ovsdb_probe_interval = "x" in ${path}: must be an integer >= 0`,
    ]);
  });

  test('a $ loop is reported, not a stack overflow', async () => {
    const path = await file(
      '[DEFAULT]\nstate_path = $metadata_proxy_socket\nmetadata_proxy_socket = $state_path/x\n',
    );
    const err = await configError(() => loadConfig({ files: [path], env: {} }));
    expect(err.problems.map((p) => [p.option, p.expected])).toEqual([
      [
        'metadata_proxy_socket',
        'refers to itself through $ references (metadata_proxy_socket -> state_path -> metadata_proxy_socket)',
      ],
      [
        'state_path',
        'refers to itself through $ references (state_path -> metadata_proxy_socket -> state_path)',
      ],
      [
        'listener_holder_socket',
        'refers to itself through $ references (state_path -> metadata_proxy_socket -> state_path)',
      ],
    ]);
  });
});

describe('value syntax accepted like oslo', () => {
  test.each([
    ['TRUE', true],
    ['Yes', true],
    ['on', true],
    ['1', true],
    ['False', false],
    ['NO', false],
    ['off', false],
    ['0', false],
  ])('boolean %j', (text, value) => {
    const c = parseConfig([{ name: 'x', text: `[DEFAULT]\nnova_metadata_insecure = ${text}\n` }]);
    expect(c.DEFAULT.nova_metadata_insecure).toBe(value);
  });

  test('integers with sign and spaces, ip_versions with spaces, metrics_bind forms', () => {
    const c = parseConfig([
      {
        name: 'x',
        text: [
          '[DEFAULT]',
          'nova_metadata_port = +8775',
          '[metadata_rate_limiting]',
          'ip_versions = 6 , 4, 6',
          '[ovnmeta]',
          'metrics_bind = [fd00::1]:9999',
          'nova_metadata_timeout = 2.5',
        ].join('\n'),
      },
    ]);
    expect(c.DEFAULT.nova_metadata_port).toBe(8775);
    expect(c.metadata_rate_limiting.ip_versions).toEqual([6, 4]);
    expect(c.ovnmeta.metrics_bind).toEqual({ host: 'fd00::1', port: 9999 });
    expect(c.ovnmeta.nova_metadata_timeout).toBe(2.5);
    const off = parseConfig([{ name: 'x', text: '[ovnmeta]\nmetrics_bind =\n' }]);
    expect(off.ovnmeta.metrics_bind).toBeNull();
  });

  test('[OVN] is [ovn]; $group.option and $opt falling back to [DEFAULT]', () => {
    const c = parseConfig([
      {
        name: 'x',
        text: '[DEFAULT]\nsb = 10.1.1.1\n[OVN]\novn_sb_connection = tcp:$sb:6642\n[ovs]\novsdb_connection = tcp:${ovn.sb_port}\n[ovn]\nsb_port = 6640\n',
      },
    ]);
    expect(c.ovn.ovn_sb_connection).toBe('tcp:10.1.1.1:6642');
    expect(c.ovs.ovsdb_connection).toBe('tcp:6640');
  });
});

describe('environment overrides', () => {
  test('env wins over every file, and the source says so', async () => {
    const a = await file(
      '[DEFAULT]\nnova_metadata_host = from-file\n[ovnmeta]\nmetrics_bind = 0.0.0.0:9105\n',
    );
    const env = {
      OVNMETA_NOVA_METADATA_HOST: 'from-env',
      OVNMETA_OVN_OVN_SB_CONNECTION: 'unix:/run/ovn/sb.sock',
      OVNMETA_METRICS_BIND: '',
      UNRELATED: 'x',
    };
    const c = await loadConfig({ files: [a], env });
    expect(c.DEFAULT.nova_metadata_host).toBe('from-env');
    expect(c.ovn.ovn_sb_connection).toBe('unix:/run/ovn/sb.sock');
    expect(c.ovnmeta.metrics_bind).toBeNull();
    expect(optionSource(c, 'DEFAULT', 'nova_metadata_host')).toEqual({
      kind: 'env',
      name: 'OVNMETA_NOVA_METADATA_HOST',
    });
  });

  test('a bad env value names the variable', async () => {
    const err = await configError(() =>
      loadConfig({ files: [], env: { OVNMETA_NOVA_METADATA_PORT: 'eighty' } }),
    );
    expect(err.message).toBe(
      '[DEFAULT] nova_metadata_port = "eighty" in environment variable OVNMETA_NOVA_METADATA_PORT: must be a port number (1-65535)',
    );
  });

  test('env names follow the rule and are unique', () => {
    const names = optionEntries.map((e) => e.spec.env);
    expect(new Set(names).size).toBe(names.length);
    expect(envName('DEFAULT', 'nova_metadata_host')).toBe('OVNMETA_NOVA_METADATA_HOST');
    expect(envName('ovnmeta', 'metrics_bind')).toBe('OVNMETA_METRICS_BIND');
    expect(envName('metadata_rate_limiting', 'ip_versions')).toBe(
      'OVNMETA_METADATA_RATE_LIMITING_IP_VERSIONS',
    );
    for (const e of optionEntries) expect(e.spec.env).toBe(envName(e.section, e.option));
  });

  test('process.env is the default environment', async () => {
    const name = 'OVNMETA_BASE_WINDOW_DURATION';
    expect(envName('metadata_rate_limiting', 'base_window_duration')).not.toBe(name);
    process.env.OVNMETA_METADATA_RATE_LIMITING_BASE_WINDOW_DURATION = '42';
    try {
      const c = await loadConfig({ files: [] });
      expect(c.metadata_rate_limiting.base_window_duration).toBe(42);
    } finally {
      delete process.env.OVNMETA_METADATA_RATE_LIMITING_BASE_WINDOW_DURATION;
    }
  });
});

describe('secrets', () => {
  const secret = 'Zm9vYmFyc2VjcmV0-do-not-leak';

  test('never in JSON, toString, inspect, template strings or redactedConfig', async () => {
    const a = await file(
      `[DEFAULT]\nmetadata_proxy_shared_secret = ${secret}\nnova_client_priv_key = /etc/k-${secret}.pem\n[ovn]\novn_sb_private_key = /etc/${secret}.key\n`,
    );
    const c = await loadConfig({ files: [a], env: {} });
    expect(c.DEFAULT.metadata_proxy_shared_secret).toBe(secret);
    const renderings = [
      JSON.stringify(c),
      JSON.stringify(c.DEFAULT),
      JSON.stringify(c.ovn),
      String(c),
      `${c.DEFAULT}`,
      inspect(c, { depth: 5 }),
      inspect(c.DEFAULT),
      JSON.stringify(redactedConfig(c)),
    ];
    for (const text of renderings) {
      expect(text).not.toContain(secret);
      expect(text).toContain('***');
    }
    expect(redactedConfig(c).DEFAULT?.metadata_proxy_shared_secret).toBe('***');
    expect(redactedConfig(c).DEFAULT?.nova_metadata_host).toBe('127.0.0.1');
  });

  test('an unset secret shows as empty, so "no secret configured" is visible', async () => {
    const c = await loadConfig({ files: [], env: {} });
    expect(redactedConfig(c).DEFAULT?.metadata_proxy_shared_secret).toBe('');
  });

  test('never in an error message, even a $ reference error', async () => {
    const a = await file(`[DEFAULT]\nmetadata_proxy_shared_secret = ab$${secret}\nnova_metadata_port = x\n`);
    const err = await configError(() => loadConfig({ files: [a], env: {} }));
    expect(err.message).not.toContain(secret);
    expect(JSON.stringify(err.problems)).not.toContain(secret);
    expect(err.problems.find((p) => p.option === 'metadata_proxy_shared_secret')).toMatchObject({
      option: 'metadata_proxy_shared_secret',
      raw: undefined,
      expected: 'has a $ reference to no option',
    });
    expect(err.message).toContain(
      `[DEFAULT] metadata_proxy_shared_secret = (sensitive, not shown) in ${a}: has a $ reference to no option`,
    );
  });
});
