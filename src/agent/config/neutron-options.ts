// Every option of neutron master's metadata agent and OVN Neutron agent
// config modules, and what ovnmeta does with it: the table in
// docs/configuration.md ("neutron's options"). Read from neutron master:
//   neutron/conf/agent/metadata/config.py (SHARED_OPTS, METADATA_PROXY_HANDLER_OPTS,
//     UNIX_DOMAIN_METADATA_PROXY_OPTS, METADATA_RATE_LIMITING_OPTS, METADATA_HAPROXY_OPTS)
//   neutron/conf/agent/ovn/metadata/config.py (list_metadata_agent_opts: OVS_OPTS)
//   neutron/conf/agent/ovn/ovn_neutron_agent/config.py (list_ovn_neutron_agent_opts:
//     AGENT_EXT_MANAGER_OPTS, ovn_conf.ovn_opts, OVS_OPTS + ovsdb_api.API_OPTS, EVPN_OPTS)
// plus the oslo.log and neutron/conf/common.py options both agents read.
// A unit test checks that every option called honoured is in the schema,
// and that every schema option outside [ovnmeta] is listed here.

export interface NeutronOption {
  readonly section: string;
  readonly option: string;
  /** neutron's default, as its module writes it. */
  readonly neutronDefault: string;
  /** Where neutron registers it. */
  readonly module: 'metadata' | 'ovn-agent' | 'both' | 'oslo.log' | 'common';
  /** undefined: honoured, under the same section and name. Otherwise why not. */
  readonly ignored?: string;
  /** A difference worth knowing, for an honoured option. */
  readonly note?: string;
}

const SERVER_SIDE =
  "neutron-server's ML2/OVN driver option (ovn_conf.ovn_opts is registered whole in the agent); no agent acts on it";
const NB = 'the agents never open the Northbound: neither does ovnmeta';
const EVPN = "neutron-ovn-agent's evpn extension, not metadata: leave it to neutron-ovn-agent";

const both = (section: string, option: string, neutronDefault: string, extra: Partial<NeutronOption> = {}) =>
  ({ section, option, neutronDefault, module: 'both', ...extra }) as const;
const ovnAgent = (
  section: string,
  option: string,
  neutronDefault: string,
  extra: Partial<NeutronOption> = {},
) => ({ section, option, neutronDefault, module: 'ovn-agent', ...extra }) as const;

export const NEUTRON_OPTIONS: readonly NeutronOption[] = [
  // [DEFAULT]: SHARED_OPTS, METADATA_PROXY_HANDLER_OPTS, UNIX_DOMAIN_METADATA_PROXY_OPTS
  both('DEFAULT', 'metadata_proxy_socket', '$state_path/metadata_proxy'),
  both('DEFAULT', 'metadata_proxy_user', '(agent effective user)', {
    note: 'must exist on the host; deduces the socket mode (there is no haproxy to run as it)',
  }),
  both('DEFAULT', 'metadata_proxy_group', '(agent effective group)', {
    note: 'must exist on the host; deduces the socket mode',
  }),
  both('DEFAULT', 'auth_ca_cert', '(none)'),
  both('DEFAULT', 'nova_metadata_host', '127.0.0.1'),
  both('DEFAULT', 'nova_metadata_port', '8775'),
  both('DEFAULT', 'metadata_proxy_shared_secret', '(empty)', { note: 'never logged' }),
  both('DEFAULT', 'nova_metadata_protocol', 'http'),
  both('DEFAULT', 'nova_metadata_insecure', 'false'),
  both('DEFAULT', 'nova_client_cert', '(empty)'),
  both('DEFAULT', 'nova_client_priv_key', '(empty)'),
  both('DEFAULT', 'metadata_proxy_socket_mode', 'deduce'),
  both('DEFAULT', 'metadata_workers', '0 with ML2/OVN', {
    ignored: 'accepted: one event loop serves every network, so there are no workers to count',
  }),
  both('DEFAULT', 'metadata_backlog', '4096', {
    note: 'the listen(2) backlog of every namespace listener too',
  }),
  // neutron/conf/common.py, oslo.log
  { section: 'DEFAULT', option: 'state_path', neutronDefault: '/var/lib/neutron', module: 'common' },
  {
    section: 'DEFAULT',
    option: 'agent_down_time',
    neutronDefault: '75',
    module: 'common',
    note: 'spreads the heartbeat as neutron does',
  },
  { section: 'DEFAULT', option: 'debug', neutronDefault: 'false', module: 'oslo.log' },
  {
    section: 'DEFAULT',
    option: 'log_file',
    neutronDefault: '(none)',
    module: 'oslo.log',
    note: 'JSON lines',
  },
  { section: 'DEFAULT', option: 'log_dir', neutronDefault: '(none)', module: 'oslo.log' },
  { section: 'DEFAULT', option: 'use_stderr', neutronDefault: 'false', module: 'oslo.log' },
  {
    section: 'DEFAULT',
    option: 'use_journal',
    neutronDefault: 'false',
    module: 'oslo.log',
    note: 'through systemd-cat: the JSON line is the MESSAGE, with PRIORITY and SYSLOG_IDENTIFIER=ovnmeta',
  },
  {
    section: 'DEFAULT',
    option: 'use_syslog',
    neutronDefault: 'false',
    module: 'oslo.log',
    note: 'through logger to /dev/log, tag ovnmeta',
  },
  { section: 'DEFAULT', option: 'syslog_log_facility', neutronDefault: 'LOG_USER', module: 'oslo.log' },
  {
    section: 'DEFAULT',
    option: 'log_config_append, use_json, log_date_format, watch_log_file, …',
    neutronDefault: '',
    module: 'oslo.log',
    ignored: 'the lines are always pino JSON, written in append mode (logrotate: copytruncate)',
  },
  // [agent]
  ovnAgent('agent', 'extensions', '(empty)', {
    note: "naming `metadata` makes ovnmeta the OVN Neutron agent; other extensions stay neutron-ovn-agent's",
  }),
  // [ovs]
  both('ovs', 'ovsdb_connection', 'metadata agent: unix:/usr/local/var/run/openvswitch/db.sock', {
    note: "neutron-ovn-agent's default is tcp:127.0.0.1:6640; ovnmeta keeps the metadata agent's for both identities",
  }),
  both('ovs', 'ovsdb_connection_timeout', '180', { note: 'the timeout of each local OVS transaction' }),
  ovnAgent('ovs', 'ssl_key_file', '(none)', {
    note: "the agent's connection; `verify` and `cleanup` use unix: or tcp:",
  }),
  ovnAgent('ovs', 'ssl_cert_file', '(none)'),
  ovnAgent('ovs', 'ssl_ca_cert_file', '(none)'),
  ovnAgent('ovs', 'ovsdb_debug', 'false', {
    ignored: "ovsdbapp's own debug log; `debug` covers ovnmeta's OVSDB client",
  }),
  // [ovn]: ovn_conf.ovn_opts (the metadata agent registers the SB ones too)
  ...['ovn_nb_connection', 'ovn_nb_private_key', 'ovn_nb_certificate', 'ovn_nb_ca_cert'].map((o) =>
    ovnAgent('ovn', o, o === 'ovn_nb_connection' ? 'tcp:127.0.0.1:6641' : '(empty)', { ignored: NB }),
  ),
  both('ovn', 'ovn_sb_connection', 'tcp:127.0.0.1:6642', {
    note: "a comma list for a cluster or relays; when not set, ovn-controller's ovn-remote",
  }),
  both('ovn', 'ovn_sb_private_key', '(empty)'),
  both('ovn', 'ovn_sb_certificate', '(empty)'),
  both('ovn', 'ovn_sb_ca_cert', '(empty)'),
  both('ovn', 'ovsdb_connection_timeout', '180', { note: 'the timeout of each Southbound transaction' }),
  both('ovn', 'ovsdb_retry_max_interval', '180'),
  both('ovn', 'ovsdb_probe_interval', '60000'),
  ...[
    ['neutron_sync_mode', 'log'],
    ['enable_distributed_floating_ip', 'false'],
    ['dhcp_default_lease_time', '43200'],
    ['dns_servers', '(empty)'],
    ['dns_records_ovn_owned', 'false'],
    ['ovn_dhcp4_global_options', '(empty)'],
    ['ovn_dhcp6_global_options', '(empty)'],
    ['disable_ovn_dhcp_for_baremetal_ports', 'false'],
    ['localnet_learn_fdb', 'false'],
    ['fdb_age_threshold', '300'],
    ['mac_binding_age_threshold', '300'],
    ['broadcast_arps_to_all_routers', 'true'],
    ['ovn_router_indirect_snat', 'true'],
    ['live_migration_activation_strategy', 'rarp'],
    ['stateless_nat_enabled', 'false'],
    ['ovs_create_tap', 'true'],
    ['ha_failover_strategy', 'normal'],
    ['bfd_min_rx', '1000'],
    ['bfd_min_tx', '100'],
    ['bfd_mult', '3'],
  ].map(([o, d]) => ovnAgent('ovn', o!, d!, { ignored: SERVER_SIDE })),
  ovnAgent('ovn', 'ovn_metadata_enabled', 'false', {
    ignored:
      "neutron-server's: it creates the metadata localports only when true (without them nothing is served)",
  }),
  // [metadata_rate_limiting]
  both('metadata_rate_limiting', 'rate_limit_enabled', 'false'),
  both('metadata_rate_limiting', 'ip_versions', '4', {
    note: '4 and 6 may be limited together (haproxy cannot)',
  }),
  both('metadata_rate_limiting', 'base_window_duration', '10'),
  both('metadata_rate_limiting', 'base_query_rate_limit', '10'),
  both('metadata_rate_limiting', 'burst_window_duration', '10'),
  both('metadata_rate_limiting', 'burst_query_rate_limit', '10'),
  // [metadata_haproxy]
  both('metadata_haproxy', 'timeout_connect', '30', {
    note: 'connecting to nova (there is no haproxy backend hop)',
  }),
  both('metadata_haproxy', 'timeout_client', '32', {
    ignored: 'accepted: timeout_http_request and timeout_http_keep_alive already bound a silent VM',
  }),
  both('metadata_haproxy', 'timeout_server', '32', {
    note: "nova's silence before 504; [ovnmeta] nova_metadata_timeout wins when set",
  }),
  both('metadata_haproxy', 'timeout_http_request', '30', {
    note: 'the whole request, head and body (408 after)',
  }),
  both('metadata_haproxy', 'timeout_http_keep_alive', '30'),
  // [ovn_evpn]
  ovnAgent('ovn_evpn', 'bgp_as', '(none)', { ignored: EVPN }),
  ovnAgent('ovn_evpn', 'bgp_local_interface', '(none)', { ignored: EVPN }),
  ovnAgent('ovn_evpn', 'frr_vty_socket', '/run/frr', { ignored: EVPN }),
];
