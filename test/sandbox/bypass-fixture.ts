import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { removeSandbox } from '../../sandbox/cleanup.js';
import { createSandboxNetwork, type SandboxNetwork } from '../../sandbox/netns.js';
import { claimSandbox, recordState } from '../../sandbox/sandbox-state.js';
import { echoHandler, startUpstream, type Upstream } from '../helpers/upstream.js';
import { createTestCA } from '../helpers/tls.js';
import { createGitRepo, type GitRepo } from './git-server.js';

/**
 * Everything a bypass run needs on the host side: the allowed HTTPS upstream (echo, git smart
 * HTTP, a fake OpenAI chat endpoint), decoy TCP/UDP listeners on host addresses that the sandbox
 * must not reach, and a listener inside a second network namespace of our own.
 */
export interface BypassFixture {
  caPem: string;
  upstream: Upstream;
  git: GitRepo;
  hostAddr: string;
  otherNs: SandboxNetwork;
  otherNsPort: number;
  close(): Promise<void>;
}

export interface Decoys {
  tcpPort: number;
  udpPort: number;
  tcpHits: string[];
  udpHits: string[];
  close(): Promise<void>;
}

export const OPENAI_ANSWER = 'hello from the fake openai upstream';

/** A local, non-loopback host address (docker0 first: it exists only on this machine). */
export function hostAddress(): string {
  const ifaces = os.networkInterfaces();
  const order = Object.keys(ifaces).sort((a, b) => Number(b === 'docker0') - Number(a === 'docker0'));
  for (const name of order) {
    if (name.startsWith('sluice-')) continue;
    for (const a of ifaces[name] ?? []) {
      if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('10.20')) return a.address;
    }
  }
  throw new Error('no non-loopback IPv4 address on this host');
}

export async function startBypassFixture(): Promise<BypassFixture> {
  const ca = await createTestCA();
  const cert = await ca.issue(['allowed.test']);
  const git = createGitRepo();
  const upstream = await startUpstream({
    cert,
    handler(req, res, body) {
      if (req.url?.startsWith('/repo.git')) return git.handler(req, res, body);
      if (req.url === '/v1/chat/completions') {
        const payload = JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: 'gpt-4o-mini',
          choices: [{ index: 0, message: { role: 'assistant', content: OPENAI_ANSWER }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(payload);
        return;
      }
      echoHandler(req, res, body);
    },
  });
  // recorded like a sandbox's, so that clean-up run by concurrent tests knows it is in use
  const state = await claimSandbox({ driver: 'bwrap', name: `sluice-fixture-${process.pid}-${Date.now()}`, command: [] });
  const otherNs = await createSandboxNetwork((name) => recordState(state, { network: name, firewallTables: [] }));
  const otherNsPort = 8080;
  const inner = await listenInNamespace(otherNs, otherNsPort);
  return {
    caPem: ca.caPem,
    upstream,
    git,
    hostAddr: hostAddress(),
    otherNs,
    otherNsPort,
    async close() {
      inner.kill('SIGKILL');
      await upstream.close();
      await otherNs.remove();
      await removeSandbox(state);
      git.close();
    },
  };
}

/** A TCP listener inside another namespace (python's http.server: no deps, dies with us). */
async function listenInNamespace(ns: SandboxNetwork, port: number): Promise<ChildProcess> {
  const child = spawn('nsenter', [`--net=${ns.netnsPath}`, '--', 'python3', '-m', 'http.server', '--bind', ns.sandboxIp, String(port)], {
    stdio: 'ignore',
  });
  // python's start-up takes seconds on loaded CI cores: wait for the port (or the child's exit)
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 60_000;
  while (!exited && Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, ns.sandboxIp, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`listener in the other namespace did not come up${exited ? ' (python exited)' : ' within 60 s'}`);
}

/** TCP and UDP listeners on every given address, same ports, recording who reached them. */
export async function startDecoys(addresses: string[]): Promise<Decoys> {
  const tcpHits: string[] = [];
  const udpHits: string[] = [];
  const servers: net.Server[] = [];
  const sockets: dgram.Socket[] = [];
  let tcpPort = 0;
  let udpPort = 0;
  for (const address of addresses) {
    const server = net.createServer((s) => {
      s.on('error', () => undefined);
      tcpHits.push(`${address} from ${s.remoteAddress}`);
      s.end('DECOY\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(tcpPort, address, () => resolve());
    });
    tcpPort = (server.address() as net.AddressInfo).port;
    servers.push(server);
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, rinfo) => udpHits.push(`${address} from ${rinfo.address}: ${msg.toString()}`));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(udpPort, address, () => resolve());
    });
    udpPort = udp.address().port;
    sockets.push(udp);
  }
  return {
    tcpPort,
    udpPort,
    tcpHits,
    udpHits,
    async close() {
      for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
      for (const u of sockets) u.close();
    },
  };
}
