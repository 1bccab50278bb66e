// Node 20 lacks a few globals that libp2p v3 and its dependencies use (they target Node 22).
// Every Node entry point (relay, scripts, CLI, test setup) imports this module first.

type Resolvers<T> = {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
};

const promiseCtor = Promise as PromiseConstructor & { withResolvers?: <T>() => Resolvers<T> };
if (typeof promiseCtor.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value<T>(): Resolvers<T> {
      let resolve!: Resolvers<T>['resolve'];
      let reject!: Resolvers<T>['reject'];
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

// Node 20 exposes no `navigator`; libp2p and our device module read `navigator.gpu` / `navigator.userAgent`.
const g = globalThis as { navigator?: object };
if (typeof g.navigator === 'undefined') {
  Object.defineProperty(globalThis, 'navigator', {
    configurable: true,
    writable: true,
    value: { userAgent: `Node.js/${process.versions.node}`, hardwareConcurrency: 2 },
  });
}

// Node 20's WebSocket global hides behind --experimental-websocket; libp2p's websockets transport needs it.
// Entry points pass that flag; failing loudly here beats a confusing dial error later.
export function assertWebSocket(): void {
  if (typeof (globalThis as { WebSocket?: unknown }).WebSocket !== 'function') {
    throw new Error('No global WebSocket: run Node with --experimental-websocket (Node 20) or use Node >= 22');
  }
}

export {};
