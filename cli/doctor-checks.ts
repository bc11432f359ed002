import { execFile } from 'node:child_process';
import fs from 'node:fs';
import tls from 'node:tls';
import net from 'node:net';
import Docker from 'dockerode';
import { createLeafCache, loadOrCreateCA } from '../certs/index.js';
import { dockerHost, findOnPath, hostTool } from '../sandbox/index.js';

/**
 * What `sluice doctor` looks at, one check per thing Sluice needs, each with the exact command
 * that fixes it. Checks run the real programs found on PATH (so tests steer them with PATH and
 * stand-ins) and change nothing; only `--fix` acts, through the commands listed here.
 */
export type Status = 'ok' | 'warn' | 'fail';

export interface Fix {
  /** Shown to the user, as they would type it. */
  display: string;
  /** Debian packages to install (merged into one apt-get call); or argv commands to run. */
  packages?: string[];
  commands?: string[][];
  /** Start a Docker engine and wait for it. */
  startDocker?: boolean;
}

export interface Check {
  name: string;
  status: Status;
  detail: string;
  fix?: Fix;
}

export interface DoctorEnv {
  env: NodeJS.ProcessEnv;
  root: boolean;
  home: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 127) : 0;
      resolve({ code, out: `${stdout}${stderr}`.trim() });
    });
  });
}

function toolCheck(command: string, what: string, required: boolean, d: DoctorEnv): Check {
  const tool = hostTool(command)!;
  const found = findOnPath(command, d.env.PATH);
  if (found) return { name: what, status: 'ok', detail: found };
  return {
    name: what,
    status: required ? 'fail' : 'warn',
    detail: `${command} not found on PATH; needed for ${tool.neededFor}`,
    fix: { display: `apt-get install -y ${tool.package}`, packages: [tool.package] },
  };
}

export function nodeCheck(version = process.versions.node): Check {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const ok = major > 20 || (major === 20 && minor >= 18);
  return ok
    ? { name: 'Node.js ≥ 20.18', status: 'ok', detail: `v${version}` }
    : { name: 'Node.js ≥ 20.18', status: 'fail', detail: `v${version} is too old`, fix: { display: 'install Node.js 20.18 or later (https://nodejs.org)' } };
}

export async function sandboxChecks(d: DoctorEnv): Promise<Check[]> {
  const checks = [toolCheck('bwrap', 'bubblewrap (bwrap)', true, d)];
  if (d.root) {
    checks.push(toolCheck('nft', 'nftables (nft)', true, d), toolCheck('ip', 'iproute2 (ip)', true, d), toolCheck('nsenter', 'util-linux (nsenter, setpriv)', true, d));
    // Only a root-owned workdir needs it, so its absence is a warning, not a failure.
    checks.push(toolCheck('setfacl', 'acl (setfacl)', false, d));
  }
  const bwrap = findOnPath('bwrap', d.env.PATH);
  if (bwrap) {
    // The real thing: can this user make the namespaces a sandbox needs?
    const probe = await run(bwrap, ['--unshare-user', '--unshare-net', '--unshare-pid', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true'], d.env);
    checks.push(
      probe.code === 0
        ? { name: 'user namespaces', status: 'ok', detail: 'bwrap can create a sandbox here' }
        : {
            name: 'user namespaces',
            status: 'fail',
            detail: `bwrap cannot create a sandbox: ${probe.out.split('\n')[0] || `exit ${probe.code}`}`,
            fix: { display: 'sysctl -w kernel.unprivileged_userns_clone=1 (as root; persist it in /etc/sysctl.d/)', commands: [['sysctl', '-w', 'kernel.unprivileged_userns_clone=1']] },
          },
    );
  }
  return checks;
}

export async function dockerChecks(d: DoctorEnv): Promise<Check[]> {
  const socket = dockerHost(d.env);
  const checks: Check[] = [toolCheck('dockerd', 'Docker engine installed (dockerd)', false, d)];
  const docker = dockerClientFor(socket);
  const up = await docker.ping().then(() => true, () => false);
  if (!up) {
    checks.push({
      name: 'Docker engine answering',
      status: 'warn',
      detail: `nothing answers at ${socket}; only --driver docker needs it`,
      fix: { display: 'start dockerd (systemctl start docker, or dockerd & as root)', startDocker: true },
    });
    return checks;
  }
  checks.push({ name: 'Docker engine answering', status: 'ok', detail: socket });
  const image = await docker.getImage('sluice-base:latest').inspect().then(() => true, () => false);
  checks.push(image ? { name: 'sluice-base image', status: 'ok', detail: 'sluice-base:latest' } : { name: 'sluice-base image', status: 'warn', detail: 'not built; --driver docker needs it', fix: { display: 'sluice image build', commands: [[process.execPath, process.argv[1] ?? 'sluice', 'image', 'build']] } });
  return checks;
}

export function dockerClientFor(socket: string): Docker {
  if (socket.startsWith('unix://')) return new Docker({ socketPath: socket.slice('unix://'.length) });
  const url = new URL(socket.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375) });
}

/**
 * Whether clients outside a sandbox trust Sluice's CA: a TLS server on 127.0.0.1 with a leaf from
 * that CA, and curl, Node and Python as this environment starts them. (Inside `sluice run` the
 * sandbox is set up to trust it; this is for clients pointed at `sluice up` by hand.)
 */
export async function caChecks(d: DoctorEnv): Promise<Check[]> {
  const ca = await loadOrCreateCA(d.home);
  const leaves = await createLeafCache(ca);
  // Clients send no SNI for an IP literal: the context is fixed, not chosen per name.
  const secureContext = await leaves.secureContextFor('127.0.0.1');
  // As the proxy serves intercepted tunnels: the minted context on a server-side TLSSocket.
  const server = net.createServer((raw) => {
    const socket = new tls.TLSSocket(raw, { isServer: true, secureContext });
    socket.on('error', () => socket.destroy());
    socket.once('data', () => socket.end('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const url = `https://127.0.0.1:${port}/`;
  const env = { ...d.env, NO_PROXY: '*', no_proxy: '*' };
  const system = `install -m 0644 ${ca.certPath} /usr/local/share/ca-certificates/sluice.crt && update-ca-certificates`;
  // Shown, never run by --fix: trusting an interception CA machine-wide is the operator's call.
  const systemFix: Fix = { display: `${system} (or per shell: export CURL_CA_BUNDLE / SSL_CERT_FILE to a bundle that includes it)` };
  const clients: Array<[string, string, string[], Fix]> = [
    ['curl', 'curl', ['-sS', '-o', '/dev/null', '--max-time', '5', url], systemFix],
    ['Node.js', 'node', ['-e', `fetch(${JSON.stringify(url)}).then(() => process.exit(0), (e) => { console.error(e.cause?.code ?? e.message); process.exit(1); })`], { display: `export NODE_EXTRA_CA_CERTS=${ca.certPath}` }],
    ['Python', 'python3', ['-c', `import urllib.request; urllib.request.urlopen(${JSON.stringify(url)}, timeout=5)`], systemFix],
  ];
  const checks: Check[] = [];
  try {
    for (const [label, command, args, fix] of clients) {
      const file = findOnPath(command, d.env.PATH);
      if (!file) {
        checks.push({ name: `${label} trusts Sluice's CA`, status: 'warn', detail: `${command} not on PATH; not checked` });
        continue;
      }
      // Pointed at `sluice up` by hand, these clients need the CA; inside `sluice run` they have it.
      const result = await run(file, args, env);
      checks.push(result.code === 0 ? { name: `${label} trusts Sluice's CA`, status: 'ok', detail: ca.certPath } : { name: `${label} trusts Sluice's CA`, status: 'warn', detail: `not outside sandboxes (${lastLine(result.out)})`, fix });
    }
  } finally {
    server.close();
    leaves.close();
  }
  return checks;
}

function lastLine(text: string): string {
  return (text.split('\n').filter(Boolean).at(-1) ?? 'failed').slice(0, 160);
}

/** The state directory must be writable (CA, audit log). */
export function homeCheck(d: DoctorEnv): Check {
  try {
    fs.mkdirSync(d.home, { recursive: true, mode: 0o700 });
    fs.accessSync(d.home, fs.constants.W_OK);
    return { name: 'state directory', status: 'ok', detail: d.home };
  } catch (err) {
    return { name: 'state directory', status: 'fail', detail: `${d.home}: ${(err as Error).message}`, fix: { display: `use a writable one: --home DIR or SLUICE_HOME=DIR` } };
  }
}
