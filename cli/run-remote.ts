import fs from 'node:fs';
import path from 'node:path';
import { demuxFrames } from './frames.js';
import { describeError } from './gateway-client.js';
import type { GatewayClient } from './gateway-client.js';
import type { CliIO } from './io.js';
import type { RunOptions } from './run-options.js';
import type { RemoteDenials } from './remote-denials.js';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * `sluice run` on a gateway. Attached: stdin is streamed to the sandbox, its output back, signals
 * are forwarded (Ctrl-C included: the sandbox is not in this terminal's process group), and once
 * it has ended the sandbox is removed and its exit code is ours. Detached (-d): prints the name
 * once the command has started and leaves it to the gateway (`sluice logs -f`, `wait`, `stop`).
 * The command gets pipes, not a terminal; `--no-gateway` runs it on this terminal instead.
 */
export async function runOnGateway(client: GatewayClient, opts: RunOptions & { name: string }, io: CliIO): Promise<number> {
  const policyText = opts.policy ? readPolicy(opts.policy, io) : undefined;
  if (policyText === null) return 1;
  // Attached runs print refusals as they happen, as a run with a Sluice of its own does.
  // (loaded only then: the audit parser and the reporter are most of what this command would load)
  const denials: RemoteDenials | undefined = opts.detach || opts.quiet ? undefined : await (await import('./remote-denials.js')).watchRemoteDenials(client, opts.name, io);
  const report = async () => {
    for (const line of (await denials?.finish()) ?? []) io.stderr.write(`${line}\n`);
  };
  const created = await client.call('POST', '/v1/sandboxes', {
    name: opts.name,
    command: opts.command,
    driver: opts.driver,
    ...(opts.image ? { image: opts.image } : {}),
    ...(opts.workdir ? { workdir: opts.workdir } : {}),
    ...(Object.keys(opts.env).length ? { env: opts.env } : {}),
    ...(opts.readOnly.length ? { read_only: opts.readOnly } : {}),
    ...(policyText !== undefined ? { policy: policyText, policy_file: opts.policy } : {}),
    stdin: !opts.detach,
    auto_remove: !opts.detach,
  });
  if (created.status !== 201) {
    io.stderr.write(`sluice run: ${describeError(created.body)}\n`);
    for (const line of (created.body.errors as string[] | undefined) ?? []) io.stderr.write(`  ${line}\n`);
    denials?.abort();
    client.close();
    return created.body.error === 'policy_invalid' ? 1 : 125;
  }
  const name = String(created.body.name);
  if (opts.detach) {
    if (!opts.quiet) io.stderr.write(`sluice: ${name} runs on the gateway at ${client.where}; \`sluice logs -f ${name}\`, \`sluice stop ${name}\`\n`);
    io.stdout.write(`${name}\n`);
    client.close();
    return 0;
  }
  if (!opts.quiet) io.stderr.write(`sluice: ${name} runs on the gateway at ${client.where}\n`);
  const base = `/v1/sandboxes/${encodeURIComponent(name)}`;
  const forward = (signal: NodeJS.Signals) => void client.call('POST', `${base}/kill`, { signal }).catch(() => undefined);
  for (const s of SIGNALS) process.on(s, forward);
  const stdin = client.upload(`${base}/stdin`, process.stdin).catch(() => undefined);
  try {
    const logs = await client.stream(`${base}/logs?follow=1`);
    const notes = await demuxFrames(logs, io.stdout, io.stderr);
    const closing = notes.findLast((n) => 'exit_code' in n);
    for (const note of Array.isArray(closing?.notes) ? closing.notes : []) io.stderr.write(`sluice run: ${String(note)}\n`);
    let code = closing?.exit_code;
    if (code === undefined) {
      // the stream broke before the end (the gateway went away?): ask how it ended
      const waited = await client.call('GET', `${base}/wait`).catch(() => undefined);
      code = waited?.body.exit_code;
    }
    if (typeof code !== 'number') {
      io.stderr.write(`sluice run: ${name} ended without an exit code (the gateway stopped?)\n`);
      return 125;
    }
    // auto_remove: the gateway removes it now that its output has been read to the end
    return code;
  } finally {
    await report();
    for (const s of SIGNALS) process.off(s, forward);
    // stdin may still be open (a terminal): stop reading it so that this process can exit
    // and the upload with it: the command has ended, nothing more it sends can reach it
    process.stdin.destroy();
    client.close();
    await Promise.race([stdin, new Promise((r) => setTimeout(r, 100).unref())]);
  }
}

function readPolicy(file: string, io: CliIO): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    io.stderr.write(`${path.relative(process.cwd(), file) || file}:1:1: cannot read policy file: ${(err as Error).message}\n`);
    return null;
  }
}
