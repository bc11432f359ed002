import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { realpathSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { attributeConnection } from '../../sandbox/index.js';
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
