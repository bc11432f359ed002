import net from 'node:net';
import tls from 'node:tls';

/**
 * Raw HTTP for attacks no well-behaved client would send (a Host header that names another host,
 * a malformed path, a hand-made body): the bytes go out exactly as written.
 */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The whole response head, for pattern checks. */
  head: string;
}

/** Reads one HTTP/1.1 response (Content-Length or close-delimited) from `socket`. */
export function readResponse(socket: net.Socket | tls.TLSSocket, deadlineMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('no complete response before the deadline')), deadlineMs);
    const parse = (): RawResponse | undefined => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const head = buf.subarray(0, end).toString('latin1');
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = headers['content-length'];
      const body = buf.subarray(end + 4);
      if (length !== undefined && body.length < Number(length)) return undefined;
      return { status: Number(head.slice(9, 12)), headers, body: length === undefined ? body : body.subarray(0, Number(length)), head };
    };
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      const res = parse();
      if (res) resolve(res);
      else reject(err ?? new Error('connection closed before a complete response'));
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const res = parse();
      if (res && res.headers['content-length'] !== undefined) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(res);
      }
    };
    socket.on('data', onData);
    socket.once('end', () => finish());
    socket.once('error', (err) => finish(err));
  });
}

/** Sends `request` (a whole request, head and body) to the proxy as a plain connection. */
export async function rawRequest(proxyPort: number, request: string | Buffer): Promise<RawResponse> {
  const socket = net.connect(proxyPort, '127.0.0.1');
  socket.on('error', () => undefined);
  try {
    socket.write(request);
    return await readResponse(socket);
  } finally {
    socket.destroy();
  }
}

/**
 * Sends `request` inside an intercepted tunnel (CONNECT, then TLS trusting `ca`) and reads the
 * answer. A refused CONNECT is returned as the response.
 */
export async function tunnelRequest(proxyPort: number, authority: string, ca: string, request: string | Buffer): Promise<RawResponse> {
  const socket = net.connect(proxyPort, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const head = await new Promise<string>((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      if (text.length > end + 4) socket.unshift(Buffer.from(text.slice(end + 4), 'latin1'));
      resolve(text.slice(0, end + 4));
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed during CONNECT')));
  });
  if (!head.startsWith('HTTP/1.1 200')) {
    socket.destroy();
    const status = Number(head.slice(9, 12));
    return { status, headers: Object.fromEntries(head.split('\r\n').slice(1).filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])), body: Buffer.alloc(0), head };
  }
  const servername = authority.startsWith('[') ? undefined : authority.slice(0, authority.lastIndexOf(':'));
  const secure = tls.connect({ socket, ca, ...(servername && net.isIP(servername) === 0 ? { servername } : {}) });
  secure.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    secure.write(request);
    return await readResponse(secure);
  } finally {
    secure.destroy();
  }
}
