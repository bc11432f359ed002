import { ProxyAgent, request } from 'undici';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { createTestCA } from '../helpers/tls.js';
import type { TestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import type { Upstream } from '../helpers/upstream.js';
import { startTestSluice, tempDir } from '../helpers/sluice.js';
import type { TestSluice } from '../helpers/sluice.js';

export const run = promisify(execFile);

export interface World {
  ca: TestCA;
  api: Upstream;
  other: Upstream;
  plain: Upstream;
  sluice: TestSluice;
  policy: string;
  dir: string;
  sluiceCaFile: string;
  close(): Promise<void>;
}

/**
 * Two HTTPS upstreams (api.example.test, other.example.test) with certificates from a test CA,
 * a plain HTTP upstream (plain.example.test), and a real Sluice pinning all three names to
 * 127.0.0.1. The policy is a function of the upstream ports.
 */
export async function startWorld(policy: (ports: { api: number; other: number; plain: number }) => string, extra: Parameters<typeof startTestSluice>[1] = {}): Promise<World> {
  const ca = await createTestCA();
  const cert = await ca.issue(['api.example.test', 'other.example.test', 'deep.sub.example.test', 'a.example.test']);
  const api = await startUpstream({ cert });
  const other = await startUpstream({ cert });
  const plain = await startUpstream();
  const text = policy({ api: api.port, other: other.port, plain: plain.port });
  const sluice = await startTestSluice(text, {
    upstreamCA: [ca.caPem],
    resolve: { 'api.example.test': '127.0.0.1', 'other.example.test': '127.0.0.1', 'plain.example.test': '127.0.0.1', 'deep.sub.example.test': '127.0.0.1', 'a.example.test': '127.0.0.1', 'evil.example.test': '127.0.0.1' },
    ...extra,
  });
  const dir = tempDir('sluice-world-');
  const sluiceCaFile = path.join(dir, 'sluice-ca.pem');
  fs.writeFileSync(sluiceCaFile, sluice.caCertPem);
  return {
    ca,
    api,
    other,
    plain,
    sluice,
    policy: text,
    dir,
    sluiceCaFile,
    async close() {
      await sluice.close();
      await Promise.all([api.close(), other.close(), plain.close()]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function agentFor(world: World): ProxyAgent {
  return new ProxyAgent({ uri: world.sluice.url, requestTls: { ca: world.sluice.caCertPem } });
}

export async function get(world: World, url: string, init: { method?: string; body?: string; agent?: ProxyAgent } = {}) {
  const agent = init.agent ?? agentFor(world);
  try {
    const res = await request(url, { dispatcher: agent, method: (init.method ?? 'GET') as 'GET', ...(init.body !== undefined ? { body: init.body } : {}) });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
  } finally {
    if (!init.agent) await agent.close();
  }
}

/** curl through the proxy; returns status and body (never throws on HTTP errors). */
export async function curl(world: World, args: string[]): Promise<{ status: number; body: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('curl', ['-sS', '--max-time', '10', '-x', world.sluice.url, '--cacert', world.sluiceCaFile, '-w', '\n%{http_code}', ...args]);
    const i = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(i + 1)), body: stdout.slice(0, i), stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    const out = e.stdout ?? '';
    const i = out.lastIndexOf('\n');
    return { status: Number(out.slice(i + 1)) || 0, body: out.slice(0, i), stderr: e.stderr ?? '', code: e.code ?? 1 };
  }
}

/** A raw TLS connection to api.example.test through a CONNECT tunnel Sluice intercepts. */
export async function interceptedTo(world: World): Promise<tls.TLSSocket> {
  const socket = net.connect(world.sluice.port, '127.0.0.1');
  socket.write(`CONNECT api.example.test:${world.api.port} HTTP/1.1\r\n\r\n`);
  await new Promise((r) => socket.once('data', r));
  const secure = tls.connect({ socket, servername: 'api.example.test', ca: world.sluice.caCertPem });
  await new Promise((r) => secure.once('secureConnect', r));
  return secure;
}
