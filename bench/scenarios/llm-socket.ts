import http from 'node:http';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Agent, request } from 'undici';
import { WebSocket } from 'ws';
import { percentile } from '../stats.js';

/**
 * The Responses-over-WebSocket lane (Codex's default transport): one socket through Sluice's
 * CONNECT tunnel to wss://inference.local/v1/responses, a `response.create` per turn, time to the
 * first text frame carrying the marker and to `response.completed`. The loadgen child speaks HTTP
 * only, so this lane measures both sides in this process: the fake Ollama streamed directly with
 * undici and the socket through Sluice, alternating turn by turn so load on the machine falls on both.
 */
export interface SocketLaneResult {
  direct: { ttft50: number; ttft99: number; total50: number };
  sluice: { ttft50: number; ttft99: number; total50: number };
}

async function tunnel(proxyUrl: string, host: string, ca: string): Promise<Duplex> {
  const proxy = new URL(proxyUrl);
  const raw = await new Promise<Duplex>((resolve, reject) => {
    const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: `${host}:443`, headers: { host: `${host}:443` } });
    req.once('connect', (res, socket) => (res.statusCode === 200 ? resolve(socket) : reject(new Error(`CONNECT ${host}: ${res.statusCode}`))));
    req.once('error', reject);
    req.end();
  });
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ socket: raw as never, servername: host, ca: [ca], ALPNProtocols: ['http/1.1'] }, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function openSocket(proxyUrl: string, ca: string): Promise<WebSocket> {
  const stream = await tunnel(proxyUrl, 'inference.local', ca);
  const ws = new WebSocket('wss://inference.local/v1/responses', { headers: { authorization: 'Bearer sk-placeholder' }, createConnection: () => stream as never });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  return ws;
}

/** One turn: [ms to the marker's frame, ms to response.completed]. */
function turn(ws: WebSocket, body: Record<string, unknown>, marker: string): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let first: number | undefined;
    const onMessage = (data: Buffer): void => {
      const text = data.toString('utf8');
      if (first === undefined && text.includes(marker)) first = performance.now() - start;
      const type = (JSON.parse(text) as { type?: string }).type;
      if (type === 'response.completed' || type === 'error' || type === 'response.failed') {
        ws.off('message', onMessage);
        if (type !== 'response.completed') reject(new Error(`turn failed: ${text.slice(0, 200)}`));
        else if (first === undefined) reject(new Error('the marker never arrived'));
        else resolve([first, performance.now() - start]);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ type: 'response.create', ...body }));
  });
}

async function directCall(agent: Agent, url: string, body: string, marker: string): Promise<[number, number]> {
  const start = performance.now();
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, dispatcher: agent });
  let first: number | undefined;
  for await (const chunk of res.body) if (first === undefined && (chunk as Buffer).toString('utf8').includes(marker)) first = performance.now() - start;
  if (res.statusCode !== 200 || first === undefined) throw new Error(`direct: status ${res.statusCode}, marker ${first === undefined ? 'missing' : 'seen'}`);
  return [first, performance.now() - start];
}

export async function socketLane(opts: { proxyUrl: string; ca: string; ollamaUrl: string; marker: string; turns: number; warmup: number }): Promise<SocketLaneResult> {
  const ws = await openSocket(opts.proxyUrl, opts.ca);
  const agent = new Agent({ connections: 1 });
  const wsBody = { model: 'gpt-5', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Say something short.' }] }], store: false };
  const directBody = JSON.stringify({ model: 'llama3.2', stream: true, messages: [{ role: 'user', content: 'Say something short.' }] });
  const d: Array<[number, number]> = [];
  const s: Array<[number, number]> = [];
  try {
    for (let i = 0; i < opts.warmup + opts.turns; i++) {
      const direct = (): Promise<[number, number]> => directCall(agent, `${opts.ollamaUrl}/api/chat`, directBody, opts.marker);
      let viaSluice: [number, number];
      let plain: [number, number];
      // Alternating which goes first keeps a warm cache or a busy moment from favouring one side.
      if (i % 2) {
        viaSluice = await turn(ws, wsBody, opts.marker);
        plain = await direct();
      } else {
        plain = await direct();
        viaSluice = await turn(ws, wsBody, opts.marker);
      }
      if (i < opts.warmup) continue;
      s.push(viaSluice);
      d.push(plain);
    }
  } finally {
    ws.close();
    await agent.close();
  }
  const stats = (xs: Array<[number, number]>) => {
    const ttft = xs.map((x) => x[0]).sort((a, b) => a - b);
    const total = xs.map((x) => x[1]).sort((a, b) => a - b);
    return { ttft50: percentile(ttft, 50), ttft99: percentile(ttft, 99), total50: percentile(total, 50) };
  };
  return { direct: stats(d), sluice: stats(s) };
}
