import { connect, type Socket } from 'node:net';
import { serveChildRpc } from './child-rpc.js';
import type { TunnelCommand, TunnelOpenResult } from './tunnel-holder.js';

/** Opens raw CONNECT tunnels through a proxy and holds them, sending nothing through them. */
const open = new Set<Socket>();

function openTunnel(proxyPort: number, target: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: proxyPort });
    let head = '';
    const fail = (why: string): void => { s.destroy(); reject(new Error(why)); };
    const timer = setTimeout(() => fail('CONNECT timed out'), timeoutMs);
    s.on('error', (e) => { clearTimeout(timer); fail(e.message); });
    s.on('connect', () => s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    const onData = (c: Buffer): void => {
      head += c.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      clearTimeout(timer);
      s.off('data', onData);
      if (!/^HTTP\/1\.[01] 200/.test(head)) return fail(`CONNECT answered ${head.split('\r\n')[0]}`);
      s.removeAllListeners('error');
      s.on('error', () => undefined);
      s.on('close', () => open.delete(s));
      open.add(s);
      resolve(s);
    };
    s.on('data', onData);
  });
}

async function openMany(cmd: Extract<TunnelCommand, { kind: 'open' }>): Promise<TunnelOpenResult> {
  let firstError: string | undefined;
  let failed = 0;
  let started = 0;
  // A sliding window of CONNECTs in flight: fast, without a SYN flood the proxy's backlog drops.
  const worker = async (): Promise<void> => {
    while (started < cmd.count && failed < 50) {
      started++;
      try {
        await openTunnel(cmd.proxyPort, cmd.target, 10_000);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(128, cmd.count) }, worker));
  return { open: open.size, failed, ...(firstError ? { firstError } : {}) };
}

serveChildRpc(async (raw) => {
  const cmd = raw as TunnelCommand;
  if (cmd.kind === 'open') return openMany(cmd);
  for (const s of open) s.destroy();
  open.clear();
  return { open: 0, failed: 0 } satisfies TunnelOpenResult;
});
