// Every HTTP handler a swarm runs (the app's static server, the coordinator service, the relay's /health) fed
// request targets and bodies that make naive code throw: each must answer (4xx) and keep serving, never crash
// the process. Raw sockets, because fetch refuses to send most of these.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveStatic, decodedRequestPath, type StaticServer } from '../../../scripts/lib/static-server.ts';
import type { CoordinatorService } from '../../../relay/coordinator/service.ts';
import { startRelay, type RunningRelay } from '../../../relay/relay.ts';
import { requestPath } from '../../../relay/coordinator/http-input.ts';
import { startChainFixture, startFixtureService, type ChainFixture } from './fixture.ts';

const HOSTILE_TARGETS = ['/%', '//', '/%E0%A4%A', '/%00', '/a%00b', 'http://[::1', '\\\\', '/..%2f..%2f..%2fetc%2fpasswd', '/../../etc/passwd', `/${'a'.repeat(8000)}`, '*', '/%ff%fe', '/?%'];

/** Sends raw bytes, resolves to the status code of the answer (0 when the server closed without one). */
function raw(url: string, request: string, options: { hangUp?: boolean } = {}): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(request);
      if (options.hangUp) setTimeout(() => socket.destroy(), 20);
    });
    let data = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (data.includes('\r\n')) socket.destroy();
    });
    socket.on('close', () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.on('error', (error) => (options.hangUp ? resolve(0) : reject(error)));
  });
}

const get = (url: string, target: string) => raw(url, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
const post = (url: string, target: string, body: string, length = Buffer.byteLength(body)) =>
  raw(url, `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n${body}`);

let dir: string;
let app: StaticServer;
let fx: ChainFixture;
let service: CoordinatorService;
let relay: RunningRelay;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tabswarm-static-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>ok</title>');
  app = await serveStatic(dir, { port: 0, swarmConfig: { swarmId: 'fuzz' } });
  fx = await startChainFixture(1);
  service = await startFixtureService(fx);
  relay = await startRelay({ host: '127.0.0.1', port: 0, healthPort: 0, swarmId: 'fuzz' });
}, 60_000);
afterAll(async () => {
  await relay?.stop();
  await service?.stop();
  await fx?.stop();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('request path parsing', () => {
  it('returns null instead of throwing', () => {
    expect(decodedRequestPath('/%')).toBeNull();
    expect(decodedRequestPath('//')).toBeNull();
    expect(decodedRequestPath('/a%00b')).toBeNull();
    expect(decodedRequestPath('/a%20b')).toBe('/a b');
    expect(requestPath('//')).toBeNull();
    expect(requestPath('/rewards?x=1')).toBe('/rewards');
  });
});

describe('server handlers survive hostile input', () => {
  it('static server: 4xx for every hostile target, and still serves', async () => {
    for (const target of HOSTILE_TARGETS) {
      const status = await get(app.url, target);
      // '/?%' is the index page with an odd query: 200 is right.
      expect(target === '/?%' ? [200] : [400, 403, 404], `GET ${target.slice(0, 40)} -> ${status}`).toContain(status);
    }
    expect(await raw(app.url, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')).toBe(405);
    expect(await get(app.url, '/')).toBe(200);
    expect(await (await fetch(`${app.url}swarm.json`)).json()).toEqual({ swarmId: 'fuzz' });
  });

  it('coordinator service: 4xx for hostile targets and bodies, hang-ups ignored, and still serves', async () => {
    for (const target of HOSTILE_TARGETS) {
      const status = await get(service.url, target);
      expect([400, 404], `GET ${target.slice(0, 40)} -> ${status}`).toContain(status);
    }
    const bodies = ['', '{', 'null', '"x"', '[[[[[[[[[[', '['.repeat(5_000) + ']'.repeat(5_000), JSON.stringify({ binding: { peerId: '%' } }), '\u0000\u0001', '{"__proto__":{"x":1}}'];
    for (const path of ['/register', '/rewards']) {
      for (const body of bodies) {
        const status = await post(service.url, path, body);
        expect([400, 413], `POST ${path} ${JSON.stringify(body.slice(0, 20))} -> ${status}`).toContain(status);
      }
      expect(await post(service.url, '//', '{}')).toBe(400);
      // Says 16 KiB are coming, sends 10 bytes, hangs up: the server must shrug.
      await raw(service.url, `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 16000\r\n\r\n{"binding":`, { hangUp: true });
      // Over the body limit.
      expect(await post(service.url, path, 'x'.repeat(20_000))).toBe(413);
    }
    expect((await fetch(`${service.url}/health`)).status).toBe(200);
  });

  it('relay /health: 404 for hostile targets, and still answers', async () => {
    for (const target of HOSTILE_TARGETS) {
      const status = await get(relay.healthUrl!, target);
      // 400 comes from Node's own parser (targets like '\\\\' never reach the handler).
      expect([400, 404], `GET ${target.slice(0, 40)} -> ${status}`).toContain(status);
    }
    expect(await post(relay.healthUrl!, '/health', '{')).toBe(200);
    expect((await (await fetch(relay.healthUrl!)).json()) as { ok: boolean }).toMatchObject({ ok: true });
  });
});
