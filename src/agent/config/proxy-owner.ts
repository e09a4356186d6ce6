// [DEFAULT] metadata_proxy_user and metadata_proxy_group name the process
// that connects to metadata_proxy_socket (neutron's haproxy runs as them).
// ovnmeta only deduces the socket's mode from them, but a name the host does
// not know is the same mistake neutron's haproxy would refuse to start on:
// a configuration error naming the option and its file.
import { readFileSync } from 'node:fs';
import { AgentConfigError, type ConfigProblem } from './errors.js';
import { optionSource } from './redact.js';
import type { AgentConfig } from './schema.js';

/** Whether `name` (a name or a decimal id) is in an /etc/passwd or /etc/group text. Pure. */
export function knownId(name: string, dbText: string): boolean {
  if (/^\d+$/.test(name)) return true; // an id need not have a name
  return dbText.split('\n').some((line) => line.split(':', 1)[0] === name);
}

export interface IdDatabases {
  readonly passwd: string;
  readonly group: string;
}

const readIdDatabases = (): IdDatabases => ({
  passwd: readFileSync('/etc/passwd', 'utf8'),
  group: readFileSync('/etc/group', 'utf8'),
});

/** Throws AgentConfigError for a metadata_proxy_user or _group the host does not know. */
export function checkProxyOwner(config: AgentConfig, dbs: () => IdDatabases = readIdDatabases): void {
  const { metadata_proxy_user: user, metadata_proxy_group: group } = config.DEFAULT;
  if (user === '' && group === '') return;
  const { passwd, group: groups } = dbs();
  const problems: ConfigProblem[] = [];
  const check = (
    option: 'metadata_proxy_user' | 'metadata_proxy_group',
    value: string,
    db: string,
    what: string,
  ) => {
    if (value !== '' && !knownId(value, db)) {
      problems.push({
        section: 'DEFAULT',
        option,
        source: optionSource(config, 'DEFAULT', option),
        expected: `a ${what} name or id known on this host (not in /etc/${what === 'user' ? 'passwd' : 'group'})`,
        raw: value,
      });
    }
  };
  check('metadata_proxy_user', user, passwd, 'user');
  check('metadata_proxy_group', group, groups, 'group');
  if (problems.length > 0) throw new AgentConfigError(problems);
}
