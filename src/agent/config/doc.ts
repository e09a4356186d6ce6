// docs/configuration.md, rendered from the schema so the two cannot drift:
// `npx vite-node scripts/gen-config-doc.ts` writes it, and a unit test fails
// when the file differs from this function's output.
import { formats } from './formats.js';
import { NEUTRON_OPTIONS, type NeutronOption } from './neutron-options.js';
import { optionEntries, type OptionSpec, type SectionName } from './schema.js';

const SECTION_NOTES: Record<SectionName, string> = {
  DEFAULT: 'Read from neutron.conf and neutron_ovn_metadata_agent.ini, as neutron does.',
  agent:
    "neutron-ovn-agent's [agent] section (neutron_ovn_agent.ini): decides which agent ovnmeta registers as.",
  ovs: 'The local Open_vSwitch database (chassis identity, integration bridge).',
  ovn: 'The OVN Southbound database.',
  metadata_rate_limiting: 'Per-VM request rate limits; excess requests get 429.',
  metadata_haproxy:
    "neutron master's haproxy timeouts (neutron_ovn_metadata_agent.ini, neutron_ovn_agent.ini), applied to the proxy.",
  ovnmeta: "ovnmeta's own options. neutron ignores this section, so the same file serves both.",
};

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function code(text: string): string {
  return text === '' ? '(empty)' : `\`${text}\``;
}

function row(option: string, spec: OptionSpec<unknown>): string {
  const format = formats[spec.format];
  const secret = spec.sensitive ? ' Sensitive: never logged.' : '';
  return `| \`${option}\` | ${code(format.display(spec.default))} | ${cell(format.expected(spec).replace(/^must be /, ''))} | ${cell(spec.doc)}${secret} | \`${spec.env}\` |`;
}

export function renderConfigDoc(): string {
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/agent/config/schema.ts by `npx vite-node scripts/gen-config-doc.ts`. Do not edit. -->',
    '',
    'ovnmeta reads the files neutron-ovn-metadata-agent reads, with the same',
    'option names, sections and defaults: `ovnmeta agent --config-file',
    '/etc/neutron/neutron.conf --config-file',
    '/etc/neutron/neutron_ovn_metadata_agent.ini`.',
    '',
    '## Which files',
    '',
    'As oslo.config finds them (src/agent/config/discover.ts):',
    '',
    '- `--config-file FILE` and `--config-dir DIR` (every `*.conf` in DIR, sorted)',
    '  may repeat and apply in command-line order; later values win. A missing',
    '  file or directory given on the command line stops the agent (exit 2).',
    '- Without any `--config-file`, the default files are read first: `neutron.conf`,',
    '  `neutron-ovn-metadata-agent.conf`, `neutron-ovn-agent.conf`, each from the',
    '  first of `~/.neutron/`, `~/`, `/etc/neutron/`, `/etc/` (then',
    '  `$SNAP_COMMON/etc/neutron/`, `$SNAP/etc/neutron/`) that has it. (oslo looks',
    '  for one program name; ovnmeta stands in for both agents, so for both.)',
    '- Without any `--config-dir`, the default directories follow:',
    '  `neutron.conf.d/`, `neutron-ovn-metadata-agent.conf.d/`,',
    "  `neutron-ovn-agent.conf.d/`, found the same way, each one's `*.conf` sorted;",
    '  default directories that do not exist are skipped.',
    '- So `ovnmeta agent` with no arguments on a host with',
    '  `/etc/neutron/neutron.conf` and `/etc/neutron/neutron.conf.d/*.conf` reads',
    '  exactly those, in that order. The agent logs the list (`config_files`).',
    '',
    '## Syntax and precedence',
    '',
    '- Files use the oslo.config ini dialect: `#` or `;` comments at the start of',
    '  a line only (elsewhere they are part of the value), `key = value` or',
    '  `key: value`, one pair of quotes around a value removed, indented lines',
    '  continue a value. Section names other than `DEFAULT` are case-insensitive.',
    '- Later files win, option by option; an environment variable (last column)',
    '  wins over every file. Unknown sections and options are ignored.',
    '- `$name` or `${name}` in a value is replaced by the option `name` of the same',
    '  section or of `[DEFAULT]`; `$section.name` reads another section; `$$` is a',
    '  literal `$`.',
    '- Booleans take true/false, yes/no, on/off, 1/0 in any case.',
    '- In code the options keep these names: `config.DEFAULT.nova_metadata_port`,',
    '  `config.ovn.ovn_sb_connection`.',
    '- A bad value stops the agent with `AGENT_CONFIG_INVALID`, naming each bad',
    '  option, its section, the file or variable it came from and what is',
    '  expected (see errors.md).',
  ];
  let current: string | undefined;
  for (const { section, option, spec } of optionEntries) {
    if (section !== current) {
      current = section;
      out.push(
        '',
        `## [${section}]`,
        '',
        SECTION_NOTES[section],
        '',
        '| option | default | accepts | meaning | environment |',
        '|---|---|---|---|---|',
      );
    }
    out.push(row(option, spec));
  }
  out.push('', ...neutronOptionsTable());
  return out.join('\n');
}

const MODULE: Record<NeutronOption['module'], string> = {
  both: 'both agents',
  metadata: 'metadata agent',
  'ovn-agent': 'OVN Neutron agent',
  'oslo.log': 'oslo.log',
  common: 'neutron common',
};

/** Every option of neutron master's two agents' config modules, and its fate here. */
function neutronOptionsTable(): string[] {
  return [
    "## neutron's options, one by one",
    '',
    "Every option of neutron master's metadata agent and OVN Neutron agent config",
    'modules (`neutron/conf/agent/metadata/config.py`, `neutron/conf/agent/ovn/metadata/config.py`,',
    '`neutron/conf/agent/ovn/ovn_neutron_agent/config.py` with the `ovn_conf`, `ovsdb_api`,',
    '`agent_extensions_manager` and `evpn` lists it registers), and the oslo.log options,',
    'with what ovnmeta does with each (src/agent/config/neutron-options.ts).',
    '',
    "| section | option | registered by | neutron's default | ovnmeta |",
    '|---|---|---|---|---|',
    ...NEUTRON_OPTIONS.map((o) => {
      const fate =
        o.ignored !== undefined
          ? `ignored: ${o.ignored}`
          : `honoured${o.note !== undefined ? `: ${o.note}` : ''}`;
      return `| ${o.section} | \`${o.option}\` | ${MODULE[o.module]} | ${cell(o.neutronDefault)} | ${cell(fate)} |`;
    }),
    '',
  ];
}
