// Request targets come from strangers: `//`, `http://[::1`, `\\` make `new URL` throw, and a throw inside a Node
// request handler kills the whole process (the coordinator service runs inside `npm start`). Parse here, never throw.

/** The path of a request target (percent-escapes kept), or null when it does not parse. */
export function requestPath(target: string | undefined): string | null {
  try {
    return new URL(target ?? '/', 'http://x').pathname;
  } catch {
    return null;
  }
}
