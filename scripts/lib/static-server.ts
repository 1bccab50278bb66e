// Serves the built app (dist/) on 127.0.0.1 plus the swarm config the page starts from.
import http from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

// Everything served here is public (app, swarm config, model files): any origin may read it, which lets a page
// on another site embed the widget (its script, worker chunks and fetches are all cross-origin CORS requests).
const CORS = { 'access-control-allow-origin': '*' };

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The decoded path of a request target, or null when it does not parse or decode (`//`, `/%`, `/%E0%A4%A`): a
 * throw inside the request handler would end `npm start` and every service it runs.
 */
export function decodedRequestPath(target: string | undefined): string | null {
  try {
    const path = decodeURIComponent(new URL(target ?? '/', 'http://x').pathname);
    // A NUL byte makes fs calls throw synchronously, outside the try below.
    return path.includes('\0') ? null : path;
  } catch {
    return null;
  }
}

export async function serveStatic(root: string, options: { host?: string; port?: number; swarmConfig: object }): Promise<StaticServer> {
  const base = resolve(root);
  const host = options.host ?? '127.0.0.1';
  const config = JSON.stringify(options.swarmConfig);
  const server = http.createServer((req, res) => {
    res.on('error', () => undefined);
    const path = decodedRequestPath(req.url);
    if (path === null) {
      res.writeHead(400, { ...CORS, 'content-type': 'text/plain' }).end('bad request: the URL does not parse');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...CORS, allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed');
      return;
    }
    if (path === '/swarm.json') {
      res.writeHead(200, { ...CORS, 'content-type': 'application/json', 'cache-control': 'no-store' }).end(config);
      return;
    }
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const size = statSync(file).size;
      res.writeHead(200, {
        ...CORS,
        'content-type': MIME[extname(file)] ?? 'application/octet-stream',
        'content-length': size,
        'cache-control': 'no-cache',
      });
      if (req.method === 'HEAD') return void res.end();
      // A file removed between stat and read must end this response, not the process.
      createReadStream(file)
        .on('error', () => res.destroy())
        .pipe(res);
    } catch {
      res.writeHead(404, { ...CORS, 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, host, ok);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
