import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The plumbing every fake backend shares: an HTTP server on 127.0.0.1:0 that records what it
 * receives, scripted replies, and a writer that can split frames across TCP writes so clients'
 * (and Sluice's) framing is tested against arbitrary chunk boundaries.
 */
export interface RecordedRequest {
  /** `WS` for a message received over a WebSocket (its body is the message). */
  method: string;
  path: string;
  /** Raw query string without '?'. */
  query: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, when there was one. */
  body: Record<string, unknown> | undefined;
  raw: string;
  /** Set when the client went away before the response finished. */
  aborted: boolean;
}

export interface ToolCallScript {
  id?: string;
  name: string;
  arguments: Record<string, unknown>;
  /** Responses API: the call is of a tool inside this namespace. */
  namespace?: string;
  /** Responses API: a custom (freeform) tool's text input; `arguments` is then not sent. */
  input?: string;
}

export interface ReplyScript {
  /** Text of the answer; streamed in `tokens` when given, else split after spaces. */
  text?: string;
  tokens?: string[];
  toolCalls?: ToolCallScript[];
  /** Neutral stop reason; derived from the content when absent. */
  stop?: 'stop' | 'length' | 'tool_calls' | 'stop_sequence';
  usage?: { input: number; output: number };
  /** Answer with this HTTP error in the API's own shape instead. */
  error?: { status: number; message?: string };
  /** Streaming only: after this many content events, stop sending (but keep the socket open). */
  stallAfter?: number;
  /** Streaming only: after this many content events, send the API's in-stream error event. */
  failAfter?: number;
  /** Streaming only: pause between events (ms). */
  delayMs?: number;
}

export type Reply = ReplyScript | ((req: RecordedRequest) => ReplyScript);

export interface FakeOptions {
  /** Models the fake serves; a request for another gets the API's "model not found" 404. Empty: any model. */
  models?: string[];
  reply?: Reply;
  /** When set, requests must carry this key (Bearer or x-api-key) or get a 401. */
  apiKey?: string;
  /** Split every frame into writes of at most this many bytes (1 = byte by byte). */
  chunkSize?: number;
}

export interface FakeBackend {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  setReply(reply: Reply): void;
  setModels(models: string[]): void;
  close(): Promise<void>;
}

export interface FakeContext {
  options: FakeOptions;
  reply(req: RecordedRequest): ReplyScript;
  /** Writes one frame, honouring chunkSize. */
  write(res: http.ServerResponse, frame: string): Promise<void>;
  modelKnown(model: unknown): boolean;
  keyOk(req: RecordedRequest): boolean;
}

export type FakeHandler = (req: RecordedRequest, res: http.ServerResponse, fake: FakeContext) => Promise<boolean>;

/** Handles an `Upgrade:` request; true when it took the socket. */
export type FakeUpgradeHandler = (req: http.IncomingMessage, socket: Socket, head: Buffer, fake: FakeContext & { record(rec: RecordedRequest): void }) => boolean;

export const DEFAULT_REPLY: ReplyScript = { text: 'Hello from the fake backend.', usage: { input: 12, output: 6 } };

export async function startFake(options: FakeOptions, handlers: FakeHandler[], upgrades: FakeUpgradeHandler[] = []): Promise<FakeBackend> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let reply: Reply = options.reply ?? DEFAULT_REPLY;
  let models = options.models ?? [];

  const fake: FakeContext = {
    options,
    reply: (req) => (typeof reply === 'function' ? reply(req) : reply),
    async write(res, frame) {
      const size = options.chunkSize;
      if (!size) {
        res.write(frame);
        return;
      }
      const bytes = Buffer.from(frame);
      for (let i = 0; i < bytes.length; i += size) {
        res.write(bytes.subarray(i, i + size));
        await new Promise((r) => setImmediate(r));
      }
    },
    modelKnown: (model) => models.length === 0 || (typeof model === 'string' && models.includes(model)),
    keyOk(req) {
      if (!options.apiKey) return true;
      // Bearer (OpenAI), x-api-key (Anthropic), x-goog-api-key or ?key= (Gemini).
      return req.headers.authorization === `Bearer ${options.apiKey}` || req.headers['x-api-key'] === options.apiKey || req.headers['x-goog-api-key'] === options.apiKey || new URLSearchParams(req.query).get('key') === options.apiKey;
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> | undefined;
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      } catch {
        body = undefined;
      }
      const url = new URL(req.url ?? '/', 'http://fake');
      const rec: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1), headers: req.headers, body, raw, aborted: false };
      requests.push(rec);
      res.on('close', () => {
        if (!res.writableFinished) rec.aborted = true;
      });
      void (async () => {
        for (const h of handlers) if (await h(rec, res, fake)) return;
        res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
      })().catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const ctx = { ...fake, record: (rec: RecordedRequest) => void requests.push(rec) };
    for (const h of upgrades) if (h(req, socket, head, ctx)) return;
    socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  });
  server.on('connection', (s: Socket) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setReply(r) {
      reply = r;
    },
    setModels(m) {
      models = m;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
}

/** Splits text into stream tokens: words with their trailing space. */
export function tokensOf(script: ReplyScript): string[] {
  if (script.tokens) return script.tokens;
  if (!script.text) return [];
  return script.text.match(/\S+\s*|\s+/g) ?? [script.text];
}

/** Splits a JSON text into small pieces, the way models stream tool arguments. */
export function argPieces(json: string, size = 7): string[] {
  const out: string[] = [];
  for (let i = 0; i < json.length; i += size) out.push(json.slice(i, i + size));
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function stopOf(script: ReplyScript): 'stop' | 'length' | 'tool_calls' | 'stop_sequence' {
  return script.stop ?? (script.toolCalls?.length ? 'tool_calls' : 'stop');
}
