export async function verify(_argv: string[]): Promise<void> {
  process.stdout.write('ovnmeta verify: not built yet (issue 5)\n');
  process.exitCode = 2;
}
