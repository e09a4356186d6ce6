export async function demo(_argv: string[]): Promise<void> {
  process.stdout.write('ovnmeta demo: not built yet (issue 5)\n');
}
