// The agent's options: neutron's names, sections and defaults, exactly as
// neutron-ovn-metadata-agent registers them (neutron/conf/agent/metadata/
// config.py, neutron/conf/agent/ovsdb_api.py, neutron/conf/plugins/ml2/
// drivers/ovn/ovn_conf.py, neutron/conf/common.py), so an operator's
// neutron.conf and neutron_ovn_metadata_agent.ini work unchanged; plus
// ovnmeta's own few options in [ovnmeta], a section neutron never reads.
//
// This table is the single source of truth: the loader parses with it,
// convict validates with it, and docs/configuration.md is generated from it.
import convict from 'convict';
import { formats, type Constraints, type FormatName, type HostPort } from './formats.js';

export interface OptionSpec<T> extends Constraints {
  readonly doc: string;
  readonly format: FormatName;
  readonly default: T;
  /** Environment variable that overrides files (see `envName`). */
  readonly env: string;
  /** Never shown: not in errors, `toString`, JSON or logs. */
  readonly sensitive?: boolean;
}

/** Options are typed by the helper that declares them. */
type Spec<T> = Omit<OptionSpec<T>, 'format' | 'default' | 'env'>;
type Decl<T> = Omit<OptionSpec<T>, 'env'>;

const str = (def: string, spec: Spec<string>): Decl<string> => ({
  ...spec,
  format: 'oslo-string',
  default: def,
});
const bool = (def: boolean, spec: Spec<boolean>): Decl<boolean> => ({
  ...spec,
  format: 'oslo-bool',
  default: def,
});
const int = (def: number, spec: Spec<number>): Decl<number> => ({
  ...spec,
  format: 'oslo-int',
  default: def,
});
const port = (def: number, spec: Spec<number>): Decl<number> => ({
  ...spec,
  format: 'oslo-port',
  default: def,
});
const optionalInt = (def: number | null, spec: Spec<number | null>): Decl<number | null> => ({
  ...spec,
  format: 'oslo-optional-int',
  default: def,
});
const choice = <const C extends readonly string[]>(
  choices: C,
  def: C[number],
  spec: Spec<C[number]>,
): Decl<C[number]> => ({
  ...spec,
  choices,
  format: 'oslo-choice',
  default: def,
});
const intList = <const C extends readonly number[]>(
  choices: C,
  def: readonly C[number][],
  spec: Spec<readonly C[number][]>,
): Decl<readonly C[number][]> => ({ ...spec, choices, format: 'oslo-int-list', default: def });
const strList = (def: readonly string[], spec: Spec<readonly string[]>): Decl<readonly string[]> => ({
  ...spec,
  format: 'oslo-string-list',
  default: def,
});
const seconds = (def: number, spec: Spec<number>): Decl<number> => ({
  ...spec,
  format: 'seconds',
  default: def,
});
const hostPort = (def: HostPort, spec: Spec<HostPort>): Decl<HostPort> => ({
  ...spec,
  format: 'host-port',
  default: def,
});

const declared = {
  DEFAULT: {
    nova_metadata_host: str('127.0.0.1', { doc: 'IP address or DNS name of the nova metadata server.' }),
    nova_metadata_port: port(8775, { doc: 'TCP port of the nova metadata server.' }),
    nova_metadata_protocol: choice(['http', 'https'], 'http', {
      doc: 'Protocol used to reach nova metadata.',
    }),
    nova_metadata_insecure: bool(false, {
      doc: 'Do not verify the certificate of nova metadata (https only).',
    }),
    nova_client_cert: str('', {
      doc: 'Client certificate (PEM file) presented to nova metadata (https only).',
    }),
    nova_client_priv_key: str('', {
      doc: 'Private key (PEM file) of nova_client_cert.',
      sensitive: true,
    }),
    auth_ca_cert: str('', { doc: 'CA certificate (PEM file) that signs the nova metadata certificate.' }),
    metadata_proxy_shared_secret: str('', {
      doc:
        'Key of the HMAC-SHA256 signature of the instance id sent to nova (X-Instance-ID-Signature). ' +
        'Must equal [neutron] metadata_proxy_shared_secret in nova.conf.',
      sensitive: true,
    }),
    metadata_proxy_socket: str('$state_path/metadata_proxy', {
      doc: 'Path of the UNIX socket on which the metadata proxy also listens (neutron haproxy compatibility).',
    }),
    metadata_proxy_socket_mode: choice(['deduce', 'user', 'group', 'all'], 'deduce', {
      doc:
        'Mode of metadata_proxy_socket: user 0644, group 0664, all 0666; deduce: user when metadata_proxy_user ' +
        "is unset, root or the agent's user, else group when metadata_proxy_group is unset or the agent's group, else all.",
    }),
    metadata_proxy_user: str('', {
      doc:
        "User (name or uid) of the process that connects to metadata_proxy_socket (neutron: haproxy's user); " +
        'must exist on the host. Only deduces the socket mode: ovnmeta serves in its own process.',
    }),
    metadata_proxy_group: str('', {
      doc: 'Group (name or gid) of that process; must exist on the host. Only deduces the socket mode.',
    }),
    metadata_workers: optionalInt(null, {
      doc: "Worker processes of neutron's metadata server. Accepted for compatibility; ovnmeta serves in one process.",
      min: 0,
    }),
    metadata_backlog: int(4096, { doc: 'Listen backlog of the metadata sockets.', min: 1 }),
    state_path: str('/var/lib/neutron', {
      doc: 'Directory of neutron state files; `$state_path` in other options.',
    }),
    agent_down_time: int(75, {
      doc: "Seconds after which neutron-server calls an agent down; it spreads the agent's heartbeat writes.",
      min: 1,
    }),
    debug: bool(false, { doc: 'Log at debug level instead of info.' }),
    log_file: str('', {
      doc: 'oslo.log: append the JSON log lines to this file instead of standard output (relative: under log_dir).',
    }),
    log_dir: str('', {
      doc: 'oslo.log: the directory of log_file; alone, the log goes to <log_dir>/ovnmeta.log.',
    }),
    use_stderr: bool(false, { doc: 'oslo.log: log to standard error (then not to standard output).' }),
    use_journal: bool(false, {
      doc: 'oslo.log: log to the systemd journal (through systemd-cat; then not to standard output).',
    }),
    use_syslog: bool(false, { doc: 'oslo.log: also log to syslog (/dev/log, through logger).' }),
    syslog_log_facility: str('LOG_USER', {
      doc: 'oslo.log: syslog facility of use_syslog: LOG_USER, LOG_LOCAL0 … LOG_LOCAL7, LOG_DAEMON …',
    }),
  },
  agent: {
    extensions: strList([], {
      doc:
        "neutron-ovn-agent's extensions (neutron_ovn_agent.ini). Naming `metadata` makes ovnmeta register as " +
        'that agent ("OVN Neutron agent", neutron:ovn-neutron-agent-* keys); otherwise it registers as ' +
        'neutron-ovn-metadata-agent ("OVN Metadata agent"). Other extensions are not ovnmeta\'s: it logs them and ' +
        'leaves them to neutron-ovn-agent (docs/deploy.md, migration).',
    }),
  },
  ovs: {
    ovsdb_connection: str('unix:/usr/local/var/run/openvswitch/db.sock', {
      doc: "Local Open_vSwitch database. Debian's OVS listens on unix:/var/run/openvswitch/db.sock.",
    }),
    ovsdb_connection_timeout: int(180, {
      doc: 'Seconds a transaction on the local Open_vSwitch database (the OVS port of a network) may wait for its reply.',
      min: 1,
    }),
    ssl_key_file: str('', {
      doc: "Private key (PEM file) for an ssl: ovsdb_connection (neutron-ovn-agent's ovsdb_api option).",
      sensitive: true,
    }),
    ssl_cert_file: str('', { doc: 'Certificate (PEM file) of ssl_key_file.' }),
    ssl_ca_cert_file: str('', { doc: 'CA certificate (PEM file) that verifies the ssl: ovsdb_connection.' }),
  },
  ovn: {
    ovn_sb_connection: str('tcp:127.0.0.1:6642', {
      doc: 'OVN Southbound database: tcp:IP:PORT, ssl:IP:PORT or unix:FILE; a comma-separated list for a cluster.',
    }),
    ovn_sb_private_key: str('', {
      doc: 'Private key (PEM file) for ssl: Southbound connections.',
      sensitive: true,
    }),
    ovn_sb_certificate: str('', { doc: 'Certificate (PEM file) of ovn_sb_private_key.' }),
    ovn_sb_ca_cert: str('', { doc: 'CA certificate (PEM file) that verifies the Southbound servers.' }),
    ovsdb_connection_timeout: int(180, {
      doc: 'Seconds a Southbound transaction (the Chassis_Private registration and heartbeat) may wait for its reply.',
      min: 1,
    }),
    ovsdb_probe_interval: int(60000, {
      doc: 'Inactivity probe of the Southbound connection in milliseconds; 0 disables it.',
      min: 0,
    }),
    ovsdb_retry_max_interval: int(180, {
      doc: 'Longest wait in seconds between reconnection attempts.',
      min: 1,
    }),
  },
  metadata_rate_limiting: {
    rate_limit_enabled: bool(false, {
      doc: 'Rate-limit metadata requests per VM address (excess gets 429).',
    }),
    ip_versions: intList([4, 6], [4], {
      doc: 'IP versions to rate-limit. Unlike neutron (haproxy), ovnmeta can limit 4 and 6 together.',
    }),
    base_window_duration: int(10, { doc: 'Seconds of the base window.', min: 1 }),
    base_query_rate_limit: int(10, { doc: 'Requests accepted per base window.', min: 1 }),
    burst_window_duration: int(10, { doc: 'Seconds of the burst window.', min: 1 }),
    burst_query_rate_limit: int(10, { doc: 'Requests accepted per burst window.', min: 1 }),
  },
  metadata_haproxy: {
    timeout_connect: int(30, {
      doc: 'Seconds to connect to nova metadata (neutron: haproxy to its backend).',
      min: 1,
    }),
    timeout_client: int(32, {
      doc:
        "Seconds of a VM's inactivity. Accepted; bounded already by timeout_http_request (a request arrives whole " +
        'in that time) and timeout_http_keep_alive (an idle connection closes after it).',
      min: 1,
    }),
    timeout_server: int(32, {
      doc:
        'Seconds nova may stay silent: for its response head, then between body chunks (504 after). [ovnmeta] ' +
        'nova_metadata_timeout, when set, takes precedence.',
      min: 1,
    }),
    timeout_http_request: int(30, {
      doc: "Seconds for a VM's whole request to arrive (408 after; slowloris guard).",
      min: 1,
    }),
    timeout_http_keep_alive: int(30, { doc: 'Seconds an idle kept-alive VM connection stays open.', min: 1 }),
  },
  ovnmeta: {
    metrics_bind: hostPort(
      { host: '127.0.0.1', port: 9105 },
      { doc: 'Address of the Prometheus /metrics and /healthz listener; empty disables it.' },
    ),
    reconcile_workers: int(8, { doc: 'Networks provisioned in parallel.', min: 1, max: 256 }),
    resync_interval: int(300, {
      doc: 'Seconds between full reconciliations of every network; 0 disables.',
      min: 0,
    }),
    nova_metadata_timeout: seconds(32, {
      doc: 'Seconds nova may stay silent; when not set, [metadata_haproxy] timeout_server gives it (neutron master).',
    }),
    sb_monitor: choice(['conditional', 'all'] as const, 'conditional', {
      doc:
        'What the agent monitors of Port_Binding and Datapath_Binding: `conditional`, the ports bound to this ' +
        "chassis and every network's metadata port and datapath (monitor conditions); `all`, every row, as " +
        "neutron's agent and ovn-controller with ovn-monitor-all. Measured at 1,000 chassis in docs/scale.md.",
    }),
    listener_holder_socket: str('$state_path/ovnmeta-listeners.sock', {
      doc:
        'Control socket of the listener holder, the small process that owns the listening sockets ' +
        'in every namespace so that they outlive agent restarts; `ovnmeta release` ends it (docs/deploy.md).',
    }),
  },
} as const;

type Declared = typeof declared;
export type SectionName = keyof Declared;

/** The option of that section, as the loader hands it out. */
type ValueOf<D> = D extends Decl<infer T> ? T : never;

/**
 * The loaded configuration: sections and options under neutron's own names
 * (`config.DEFAULT.nova_metadata_host`, `config.ovn.ovn_sb_connection`), so
 * code, docs and operators' files all use one vocabulary.
 */
export type AgentConfig = {
  readonly [S in SectionName]: { readonly [O in keyof Declared[S]]: ValueOf<Declared[S][O]> };
};

/**
 * Environment variable of an option: OVNMETA_<OPTION> for [DEFAULT] and
 * [ovnmeta], OVNMETA_<SECTION>_<OPTION> otherwise, upper-cased.
 */
export function envName(section: string, option: string): string {
  const parts = section === 'DEFAULT' || section === 'ovnmeta' ? [option] : [section, option];
  return `OVNMETA_${parts.join('_').toUpperCase()}`;
}

export type Schema = {
  readonly [S in SectionName]: { readonly [O in keyof Declared[S]]: OptionSpec<ValueOf<Declared[S][O]>> };
};

function withEnv(): Schema {
  const out: Record<string, Record<string, OptionSpec<unknown>>> = {};
  for (const [section, options] of Object.entries(declared)) {
    const specs: Record<string, OptionSpec<unknown>> = {};
    for (const [option, decl] of Object.entries(options) as [string, Decl<unknown>][]) {
      specs[option] = Object.freeze({ ...decl, env: envName(section, option) });
    }
    out[section] = Object.freeze(specs);
  }
  return Object.freeze(out) as unknown as Schema;
}

export const schema: Schema = withEnv();

/** One option with its place, for code that walks the whole schema. */
export interface OptionEntry {
  readonly section: SectionName;
  readonly option: string;
  readonly spec: OptionSpec<unknown>;
}

export const optionEntries: readonly OptionEntry[] = Object.freeze(
  Object.entries(schema).flatMap(([section, options]) =>
    Object.entries(options as Record<string, OptionSpec<unknown>>).map(([option, spec]) =>
      Object.freeze({ section: section as SectionName, option, spec }),
    ),
  ),
);

// convict holds the same schema: its formats are ours (registered once per
// process under names no one else uses) and it validates defaults at load.
for (const format of Object.values(formats)) {
  convict.addFormat({
    name: format.name,
    validate: (value: unknown, item: convict.SchemaObj) => format.validate(value, item as Constraints),
  });
}

/** A fresh convict instance over the schema, isolated from process env/argv. */
export function convictConfig(): convict.Config<AgentConfig> {
  return convict<AgentConfig>(schema as unknown as convict.Schema<AgentConfig>, { env: {}, args: [] });
}
