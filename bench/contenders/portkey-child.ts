import http from 'node:http';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * Portkey's AI gateway (@portkey-ai/gateway, its own Node server, build/start-server.js) on 127.0.0.1:PORT.
 * Its server listens on every interface and takes no host option; the bench binds nothing but loopback, so
 * a listen without a host is given 127.0.0.1 before the gateway's module runs.
 */
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) throw new Error('usage: portkey-child PORT');
const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (this: http.Server, ...args: unknown[]) {
  if (typeof args[0] === 'number') {
    if (args[1] === undefined) args[1] = '127.0.0.1';
    else if (typeof args[1] === 'function') args.splice(1, 0, '127.0.0.1');
  }
  return (listen as (...a: unknown[]) => http.Server).apply(this, args);
} as typeof http.Server.prototype.listen;
// On Node, Portkey 1.15.2 adds its x-portkey-* headers to the upstream fetch() Response, whose headers are
// immutable, and every streamed call fails with "TypeError: immutable" (Portkey-AI/gateway#1389, #1550; the fix
// proposed in #1551 re-wraps the Response). Same here, for every upstream response: one object per call.
const upstreamFetch = globalThis.fetch;
globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
  const res = await upstreamFetch(...args);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
};
// Its start-up spinner clears the terminal: nobody is watching this one.
console.clear = () => undefined;
process.argv = [process.argv[0]!, 'start-server.js', `--port=${port}`, '--headless'];
const main = createRequire(import.meta.url).resolve('@portkey-ai/gateway/build/start-server.js');
await import(pathToFileURL(main).href);
