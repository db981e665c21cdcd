// Threads that may be inside onnxruntime (the model's thread, the lanes), and waiting for them before the process exits: a thread ended inside a run aborts the whole process.

/**
 * A second SIGINT this soon after the first is the same keypress relayed by a wrapper process (npx, tsx), not a
 * second Ctrl-C: one Ctrl-C in a terminal reaches the process from the terminal's process group and from the wrapper.
 */
export const SIGNAL_ECHO_MS = 500;

/** How to stop one thread (or pool of them) from starting runs, resolving once none is inside one. */
export type Settler = () => Promise<void>;

const settlers = new Set<Settler>();

/** Registers a thread's settler; returns the function that unregisters it (once the thread has ended). */
export function whileRunning(settle: Settler): () => void {
  settlers.add(settle);
  return () => settlers.delete(settle);
}

/**
 * Stops every registered thread from starting runs and resolves once none is inside one. onnxruntime-node cannot be
 * interrupted: a worker thread ended while it is in a run (by `process.exit()` or `worker.terminate()`) aborts the
 * process ("terminate called after throwing an instance of 'Napi::Error'", exit code 134). The CLI awaits this before
 * it exits on a signal.
 */
export async function settleThreads(): Promise<void> {
  await Promise.all([...settlers].map((settle) => settle()));
}
