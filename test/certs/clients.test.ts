import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { createLeafCache, loadOrCreateCA } from '../../certs/index.js';
import { startSniServer } from './sni-server.js';

// Real clients must accept the leaves: Node, curl, OpenSSL 3 and Python with the strict
// X.509 checks Python 3.13 turns on by default.

const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-clients-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const ca = await loadOrCreateCA(path.join(dir, 'home'));
const otherCa = await loadOrCreateCA(path.join(dir, 'other'));
const cache = await createLeafCache(ca);
t.teardown(() => cache.close());
const server = await startSniServer(cache, { defaultHost: '127.0.0.1' });
t.teardown(() => server.close());

const HOST = 'api.example.test';
const LONG_HOST = `${'l'.repeat(60)}.example.test`;
const noProxyEnv = { ...process.env, HTTPS_PROXY: '', https_proxy: '', HTTP_PROXY: '', http_proxy: '', ALL_PROXY: '', all_proxy: '' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: noProxyEnv, timeout: 15_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    // Clients that exit without reading stdin would otherwise raise EPIPE here.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

function nodeGet(opts: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(opts, () => {
      socket.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

t.test('Node tls.connect verifies with the CA', async (t) => {
  for (const host of [HOST, LONG_HOST]) {
    const body = await nodeGet({ host: '127.0.0.1', port: server.port, servername: host, ca: ca.certPem });
    t.match(body, /^HTTP\/1\.1 200[\s\S]*sluice-ok/, `verified ${host.slice(0, 20)}…`);
  }
  const ip = await nodeGet({ host: '127.0.0.1', port: server.port, ca: ca.certPem });
  t.match(ip, /sluice-ok/, 'IP literal verified against the iPAddress SAN');
  await t.rejects(nodeGet({ host: '127.0.0.1', port: server.port, servername: HOST, ca: otherCa.certPem }), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }, 'another CA is not trusted');
});

const hasV6Loopback = Object.values(os.networkInterfaces()).some((addrs) => addrs?.some((a) => a.address === '::1'));

t.test('Node and curl verify an IPv6 literal', { skip: hasV6Loopback ? false : 'no IPv6 loopback' }, async (t) => {
  const v6 = await startSniServer(cache, { defaultHost: '::1', listenHost: '::1' });
  t.teardown(() => v6.close());
  t.match(await nodeGet({ host: '::1', port: v6.port, ca: ca.certPem }), /sluice-ok/);
  const curl = await run('curl', ['-sS', '--noproxy', '*', '--cacert', ca.certPath, `https://[::1]:${v6.port}/`]);
  t.equal(curl.code, 0, `curl over IPv6: ${curl.stderr}`);
  t.equal(curl.stdout, 'sluice-ok\n');
});

t.test('curl --cacert accepts a host name and an IP literal', async (t) => {
  for (const host of [HOST, LONG_HOST]) {
    const res = await run('curl', ['-sS', '--noproxy', '*', '--cacert', ca.certPath, '--resolve', `${host}:${server.port}:127.0.0.1`, `https://${host}:${server.port}/`]);
    t.equal(res.code, 0, `curl ${host.slice(0, 20)}…: ${res.stderr}`);
    t.equal(res.stdout, 'sluice-ok\n');
  }
  const ip = await run('curl', ['-sS', '--noproxy', '*', '--cacert', ca.certPath, `https://127.0.0.1:${server.port}/`]);
  t.equal(ip.code, 0, `curl IP literal: ${ip.stderr}`);
  t.equal(ip.stdout, 'sluice-ok\n');
  const untrusted = await run('curl', ['-sS', '--noproxy', '*', '--cacert', otherCa.certPath, '--resolve', `${HOST}:${server.port}:127.0.0.1`, `https://${HOST}:${server.port}/`]);
  t.equal(untrusted.code, 60, 'curl refuses a leaf from a CA it does not trust');
});

t.test('openssl s_client (OpenSSL 3) verifies strictly', async (t) => {
  const version = await run('openssl', ['version']);
  t.match(version.stdout, /^OpenSSL 3\./);
  for (const host of [HOST, LONG_HOST]) {
    const res = await run(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${server.port}`, '-servername', host, '-verify_hostname', host, '-CAfile', ca.certPath, '-verify_return_error', '-x509_strict', '-brief'],
      'Q\n',
    );
    t.equal(res.code, 0, `s_client ${host.slice(0, 20)}…: ${res.stderr}`);
    t.match(res.stderr, /Verification: OK/);
  }
  const ip = await run('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-verify_ip', '127.0.0.1', '-CAfile', ca.certPath, '-verify_return_error', '-x509_strict', '-brief'], 'Q\n');
  t.equal(ip.code, 0, `s_client IP: ${ip.stderr}`);
  const untrusted = await run('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`, '-servername', HOST, '-CAfile', otherCa.certPath, '-verify_return_error', '-brief'], 'Q\n');
  t.not(untrusted.code, 0, 'fails against another CA');
});

const PYTHON = `
import socket, ssl, sys
cafile, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
# What Python 3.13 enables by default.
ctx.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname=name) as s:
        s.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
print(data.decode().split("\\r\\n")[0])
`;

t.test('Python ssl with VERIFY_X509_STRICT accepts the leaves', async (t) => {
  const flag = await run('python3', ['-c', 'import ssl; print(ssl.VERIFY_X509_STRICT != 0)']);
  t.equal(flag.stdout.trim(), 'True');
  for (const host of [HOST, LONG_HOST, '127.0.0.1']) {
    const res = await run('python3', ['-c', PYTHON, ca.certPath, String(server.port), host]);
    t.equal(res.code, 0, `python ${host.slice(0, 20)}…: ${res.stderr}`);
    t.equal(res.stdout.trim(), 'HTTP/1.1 200 OK');
  }
  const mismatch = await run('python3', ['-c', PYTHON, ca.certPath, String(server.port), '10.0.0.1']);
  t.not(mismatch.code, 0, 'an IP the leaf was not minted for is refused');
  t.match(mismatch.stderr, /CERTIFICATE_VERIFY_FAILED|IP address mismatch/);
  const untrusted = await run('python3', ['-c', PYTHON, otherCa.certPath, String(server.port), HOST]);
  t.not(untrusted.code, 0, 'another CA is refused');
});
