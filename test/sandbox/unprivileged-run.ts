// Child process for sandbox.test.ts, run as nobody: a bwrap sandbox without root (unix-socket
// network by default), printing one JSON line with what the sandboxed command saw.
import { prepareSandbox } from '../../sandbox/index.js';
import { startStandInProxy } from './stand-in-proxy.js';

if (process.argv[2] !== 'run') process.exit(0); // not a test file of its own
const here = new URL('.', import.meta.url).pathname;
const script = `id -u; curl -sS http://denied.test/; echo; python3 ${here}tcp-probe.py 10.200.0.1 80`;
const prepared = await prepareSandbox({ driver: 'bwrap', command: ['sh', '-c', script], filesystem: { read_only: [here] } });
const proxy = await startStandInProxy({ host: prepared.proxyListen.host, allow: {} });
try {
  const running = await prepared.start({ proxy: { host: proxy.host, port: proxy.port, caCertPem: '' }, stdio: 'pipe' });
  running.stdin?.end();
  let out = '';
  running.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  const code = await running.wait();
  await running.remove();
  process.stdout.write(`${JSON.stringify({ code, out, proxyListen: prepared.proxyListen, seen: proxy.seen })}\n`);
} finally {
  await prepared.remove();
  await proxy.close();
}
