// One model run at a time: wraps an async function so that calls queue behind each other (sessions are not re-entrant).
/**
 * Returns a function that calls `fn` with the same arguments, but only after every earlier call has settled; a
 * failed call rejects its own caller and does not stop the queue.
 */
export function serialized<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  let queue: Promise<unknown> = Promise.resolve();
  return (...args: A) => {
    const next = queue.then(() => fn(...args));
    queue = next.catch(() => undefined);
    return next;
  };
}
