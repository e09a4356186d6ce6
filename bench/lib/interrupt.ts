// Ctrl-C or SIGTERM during a bench: run its cleanup once, then exit 130.
export function cleanupOnSignals(cleanup: () => Promise<void>, log: (line: string) => void): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}
