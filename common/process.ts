/**
 * Process lifetime: one graceful stop on SIGINT or SIGTERM, or when the parent
 * that started this process is gone (a supervisor killed with SIGKILL sends no
 * signal, so its children watch it).
 */

/** Environment variable a supervisor sets to its own pid: the child stops when its parent is no longer that process. */
export const PARENT_PID_ENV = 'FHIRMESH_PARENT_PID';

/** How often a child looks at its parent. */
const PARENT_CHECK_MS = 500;

/** After the parent is gone, the stop may take this long before the process exits anyway (what it depended on went with the parent). */
const PARENT_GONE_EXIT_MS = 3_000;

/** Why a process stops. */
export type StopReason = NodeJS.Signals | 'parent-exited';

/**
 * Calls `onGone` once when this process's parent is no longer `parentPid` (it exited and this
 * process was re-parented). Checks every 500 ms with an unref'd timer; returns a cancel function.
 */
export function onParentExit(parentPid: number, onGone: () => void): () => void {
  const timer = setInterval(() => {
    if (process.ppid === parentPid) return;
    clearInterval(timer);
    onGone();
  }, PARENT_CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Calls `stop` once on the first SIGINT/SIGTERM, then exits 0 (1 if `stop` failed). When the
 * environment names a parent (`FHIRMESH_PARENT_PID`), its exit stops the process the same way,
 * with at most 3 s for the stop.
 */
export function stopOnSignals(stop: () => Promise<void>, onSignal?: (reason: StopReason) => void, onError?: (err: unknown) => void): void {
  let stopping = false;
  const begin = (reason: StopReason) => {
    if (stopping) return;
    stopping = true;
    onSignal?.(reason);
    if (reason === 'parent-exited') setTimeout(() => process.exit(1), PARENT_GONE_EXIT_MS).unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        onError?.(err);
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => begin(signal));
  const parent = Number(process.env[PARENT_PID_ENV]);
  if (Number.isInteger(parent) && parent > 1) {
    if (process.ppid !== parent) begin('parent-exited');
    else onParentExit(parent, () => begin('parent-exited'));
  }
}
