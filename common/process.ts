/** Process lifetime: one graceful stop on SIGINT or SIGTERM. */

/** Calls `stop` once on the first SIGINT/SIGTERM, then exits 0 (1 if `stop` failed). */
export function stopOnSignals(stop: () => Promise<void>, onSignal?: (signal: NodeJS.Signals) => void, onError?: (err: unknown) => void): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      onSignal?.(signal);
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          onError?.(err);
          process.exit(1);
        },
      );
    });
  }
}
