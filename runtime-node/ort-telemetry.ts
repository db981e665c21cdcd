// onnxruntime's telemetry, off unless the host sets ORT_DISABLE_TELEMETRY itself: set on the main thread, whose environment onnxruntime's native code reads.

/**
 * Sets ORT_DISABLE_TELEMETRY=1 in the process's environment unless it is set. onnxruntime reads it when its first
 * session is created. A worker thread's `process.env` is a copy that native code does not see, so the main thread
 * calls this before it starts a thread that loads onnxruntime (and ort-session.ts when it loads). With telemetry on,
 * onnxruntime-node 1.30 on Linux leaves an empty /tmp/mat-debug-<pid>.log behind for every process (347 of them here
 * after a day's runs), keeps an event store in ~/.cache/Microsoft/DeveloperTools/.onnxruntime (2.5 MB) and tries to
 * upload it over HTTPS; and the CLI took 0.32 s for one small file against 0.29 s without it (medians of five
 * alternating pairs). onnxruntime turns its telemetry off by itself only where it sees a CI variable (CI,
 * GITHUB_ACTIONS, JENKINS_URL and others), so a user's machine had it on.
 */
export function disableOrtTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
}
