// ovnmeta command line: `agent`, `demo`, `verify`, `cleanup`.
// Subcommands are added as the issues that build them land.
const usage = `usage: ovnmeta <command> [options]

commands:
  agent --config-file FILE [...]   run the metadata agent on this chassis
  demo [--once]                    throwaway OVN chassis, two VMs fetching metadata
  verify [--network ID] [--json]   check, with ovn-trace, that metadata works here
`;

const [command] = process.argv.slice(2);
switch (command) {
  default:
    process.stdout.write(usage);
    process.exitCode = command === undefined || command === '--help' ? 0 : 2;
}
