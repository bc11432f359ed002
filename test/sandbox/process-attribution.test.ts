import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs, { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import t from 'tap';
import { attributeConnection, createBinaryPins } from '../../sandbox/index.js';
import { compilePolicy, parsePolicy } from '../../rules/index.js';
import { parseAuthority } from '../../core/index.js';

/**
 * Connection attribution from /proc (sandbox/process-attribution.ts): real processes connect to a
 * real server on 127.0.0.1:0, and the connection's source port leads to the process, its
 * kernel-resolved executable and its ancestors. argv is never read: a process that calls itself
 * /usr/bin/curl is still the executable it is. Here the "sandbox" is this test's own network
 * namespace (every namespace is found the same way).
 */
const server = net.createServer();
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const port = (server.address() as net.AddressInfo).port;
const sockets: net.Socket[] = [];
t.teardown(() => {
  for (const s of sockets) s.destroy();
  server.close();
});

async function connectFrom(cmd: string, args: string[], argv0?: string): Promise<{ child: ChildProcess; remotePort: number }> {
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'inherit'], ...(argv0 ? { argv0 } : {}) });
  t.teardown(() => child.kill());
  const [socket] = await accepted;
  sockets.push(socket);
  return { child, remotePort: socket.remotePort! };
}

const holdNode = `const s=require('net').connect(${port},'127.0.0.1');process.stdin.on('data',()=>{});process.stdin.on('end',()=>s.destroy())`;
const holdPython = `import socket,sys\ns=socket.create_connection(('127.0.0.1',${port}))\nsys.stdin.read()`;

t.test('the owner of a connection, from its source port, with argv spoofed', async (t) => {
  const { child, remotePort } = await connectFrom(process.execPath, ['-e', holdNode], '/usr/bin/curl');
  const who = await attributeConnection({ sandboxPid: process.pid, hash: true }, { address: '127.0.0.1', port: remotePort }, { address: '127.0.0.1', port });
  t.ok(who, 'attributed');
  t.equal(who!.pid, child.pid, 'the process that holds the socket');
  t.equal(who!.exe, realpathSync(process.execPath), 'the kernel-resolved executable, not argv[0] (/usr/bin/curl)');
  t.equal(who!.ancestors[0], realpathSync(process.execPath), 'its parent (this test runner) is the first ancestor');
  t.match(who!.sha256, /^[0-9a-f]{64}$/);
  t.equal(await attributeConnection({ sandboxPid: process.pid }, { address: '127.0.0.1', port: 1 }), undefined, 'no socket, no identity');
});

t.test('binaries decide by the attributed executable', async (t) => {
  const python = await connectFrom('python3', ['-c', holdPython]);
  const node = await connectFrom(process.execPath, ['-e', holdNode], '/usr/bin/python3');
  const py = await attributeConnection({ sandboxPid: process.pid }, { address: '127.0.0.1', port: python.remotePort }, { address: '127.0.0.1', port });
  const nd = await attributeConnection({ sandboxPid: process.pid }, { address: '127.0.0.1', port: node.remotePort }, { address: '127.0.0.1', port });
  t.equal(py!.pid, python.child.pid, `the python process (${JSON.stringify(py)} vs ${python.child.pid}, node ${node.child.pid} ${JSON.stringify(nd)})`);
  t.match(py!.exe, /python3/);
  const { policy } = parsePolicy(`version: 1\nnetwork_policies:\n  py:\n    endpoints: [{ host: api.example.com, port: 443 }]\n    binaries: [{ path: "${py!.exe}" }]\n`, 'b.yaml');
  const compiled = compilePolicy(policy!);
  const dest = parseAuthority('api.example.com:443');
  t.equal(compiled.decideConnect(dest, { exe: py!.exe, ancestors: py!.ancestors }).action, 'allow', 'python may connect');
  t.equal(compiled.decideConnect(dest, { exe: nd!.exe, ancestors: nd!.ancestors }).action, 'deny', 'node calling itself python3 may not');
});

t.test('a socket held by two different programs is attributed to neither', async (t) => {
  // python connects, then starts node with the socket inherited: both hold it
  const script = `import socket,subprocess,sys\ns=socket.create_connection(('127.0.0.1',${port}))\np=subprocess.Popen([${JSON.stringify(process.execPath)},'-e','process.stdin.resume()'],pass_fds=[s.fileno()],stdin=subprocess.PIPE)\nprint('ready',flush=True)\nsys.stdin.read()\np.kill()`;
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const child = spawn('/usr/bin/python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill());
  const [socket] = await accepted;
  sockets.push(socket);
  await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()));
  await t.rejects(attributeConnection({ sandboxPid: process.pid }, { address: '127.0.0.1', port: socket.remotePort! }, { address: '127.0.0.1', port }), { name: 'AmbiguousOwnerError', message: /several different programs/ });
});

t.test('SHA-256 pinned on first use: a binary replaced at a pinned path is refused, the old one still running is not', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-pins-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tool = path.join(dir, 'tool');
  fs.copyFileSync('/usr/bin/sleep', tool);
  fs.chmodSync(tool, 0o755);
  const start = () => {
    const c = spawn(tool, ['30'], { stdio: 'ignore' });
    t.teardown(() => c.kill());
    return c;
  };
  const pins = createBinaryPins();
  const first = start();
  await once(first, 'spawn');
  const hash = await pins.verify(tool, first.pid!);
  t.match(hash, /^[0-9a-f]{64}$/);
  t.equal(await pins.verify(tool, first.pid!), hash, 'the same binary again');
  // replaced the way installers do: a new file renamed over the old path
  fs.writeFileSync(`${tool}.new`, Buffer.concat([fs.readFileSync('/usr/bin/sleep'), Buffer.from('x')]));
  fs.chmodSync(`${tool}.new`, 0o755);
  fs.renameSync(`${tool}.new`, tool);
  t.equal(await pins.verify(tool, first.pid!), hash, 'the process started before the swap still runs the pinned content');
  const second = start();
  await once(second, 'spawn');
  await t.rejects(pins.verify(tool, second.pid!), { name: 'BinaryChangedError', message: /is not the binary first seen at that path/ }, 'the new content behind the pinned path is refused');
  t.match(await createBinaryPins().verify(tool, second.pid!), /^[0-9a-f]{64}$/, 'pins belong to one Sluice: a fresh one pins the new binary');
});
