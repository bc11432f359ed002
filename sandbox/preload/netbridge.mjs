// Sluice network bridge for the bwrap driver without root: the sandbox has a network namespace
// of its own with nothing but loopback, and this process, CMD's parent inside the sandbox,
// listens on 127.0.0.1:PORT and relays each connection to the proxy through a unix socket
// bound in from the host. It is the sandbox's only way out.
// usage: node netbridge.mjs PORT SOCKET -- CMD ARGS...
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';

const [port, socketPath, separator, ...command] = process.argv.slice(2);
if (separator !== '--' || command.length === 0) {
  console.error('usage: netbridge.mjs PORT SOCKET -- CMD ARGS...');
  process.exit(2);
}
const server = net.createServer((inbound) => {
  const outbound = net.connect(socketPath);
  inbound.on('error', () => outbound.destroy());
  outbound.on('error', () => inbound.destroy());
  inbound.pipe(outbound).pipe(inbound);
});
server.listen(Number(port), '127.0.0.1', () => {
  const child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
  // a terminal sends ^C/^\ to the whole foreground group, CMD included: do not send it twice
  const forwarded = ['SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', ...(process.stdin.isTTY ? [] : ['SIGINT', 'SIGQUIT'])];
  for (const signal of forwarded) process.on(signal, () => child.kill(signal));
  if (process.stdin.isTTY) for (const signal of ['SIGINT', 'SIGQUIT']) process.on(signal, () => undefined);
  child.on('error', (err) => {
    console.error(`sluice: ${command[0]}: ${err.message}`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0)));
});
