// One call at a time: async work queued in call order, each started when the one before it has settled; a
// failed call does not block the ones behind it. The engine queues its calls on one (they share activation
// buffers), and the worker's contributor its engine operations (rounds, exports, averages) on another.

export type SerialQueue = <T>(work: () => Promise<T>) => Promise<T>;

export function serialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  };
}
