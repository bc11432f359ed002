// Child process for cleanup.test.ts: starts a sandbox, reports its names, then waits to be
// SIGKILLed without cleaning up, like a `sluice run` that crashed.
import net from 'node:net';
import { prepareSandbox, type SandboxDriver } from '../../sandbox/index.js';

const driver = process.argv[2] as SandboxDriver;
// run by cleanup.test.ts only; a test runner globbing the folder must not start a sandbox
if (driver !== 'bwrap' && driver !== 'docker') process.exit(0);
const prepared = await prepareSandbox({ driver, command: ['sleep', '60'] });
const listener = net.createServer((s) => s.destroy());
await new Promise<void>((resolve) => listener.listen(0, prepared.proxyListen.host, resolve));
const port = (listener.address() as net.AddressInfo).port;
const running = await prepared.start({ proxy: { host: prepared.proxyListen.host, port, caCertPem: '' }, stdio: 'pipe' });
process.stdout.write(`READY ${running.name} ${prepared.proxyListen.host}\n`);
setInterval(() => undefined, 1000);
