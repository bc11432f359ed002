import fs from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { readAuditLog, sandboxOfEvent } from '../audit/index.js';
import type { SluiceEvent } from '../core/index.js';
import { advise, DEFAULT_POLICY_YAML } from '../rules/index.js';
import type { Advice, Observed } from '../rules/index.js';
import { UsageError, flag, str } from './args.js';
import type { Invocation } from './args.js';
import { describeError, findGateway } from './gateway-client.js';
import type { GatewayClient } from './gateway-client.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';
import { matchesFilter } from './log-format.js';
import { auditFileOf, parseSince } from './logs.js';

/** A refusal (or, under audit, a would-be refusal) as the advisor needs it. */
export function observedOf(event: SluiceEvent): Observed | undefined {
  if (event.type !== 'connect' && event.type !== 'request') return undefined;
  if (event.decision.action !== 'deny' && !event.decision.audited) return undefined;
  const { host, port, ip } = event.dst;
  if (host === undefined || port === undefined) return undefined;
  return {
    code: event.decision.code,
    host,
    port,
    ...(event.type === 'request' ? { method: event.method, path: event.path } : {}),
    ...(ip !== undefined ? { address: ip } : {}),
  };
}

/**
 * `sluice policy suggest [--policy FILE] [--sandbox NAME] [--since DURATION] [--apply]`: the
 * smallest change to the policy file that would have allowed the logged refusals, as a diff;
 * `--apply` writes it (atomically) once it validates. A Sluice watching the file applies it at once.
 */
export async function suggest(inv: Invocation, io: CliIO): Promise<number> {
  const sinceText = str(inv, 'since');
  const since = sinceText === undefined ? undefined : parseSince(sinceText);
  const sandbox = str(inv, 'sandbox');
  const filter = { ...(sandbox ? { sandbox } : {}), ...(since !== undefined ? { since } : {}) };
  const auditFile = auditFileOf(resolveHome(inv.home, io.env));
  // Each Sluice logs the policy it loaded (a `sluice run`'s names its sandbox), so every refusal
  // is known with the policy file it was made under; null is the embedded default policy.
  const found: Array<{ observed: Observed; policy: string | null | undefined; sandbox: string | undefined }> = [];
  const policyOf = new Map<string, string | null>();
  let loggedPolicy: string | null | undefined;
  for await (const { event } of readAuditLog(auditFile, since !== undefined ? { since } : {})) {
    if (event.type === 'policy' && event.activity === 'loaded') {
      policyOf.set(event.sandbox ?? '', event.file ?? null);
      if (matchesFilter(event, filter)) loggedPolicy = event.file ?? null;
      continue;
    }
    if (!matchesFilter(event, filter)) continue;
    const o = observedOf(event);
    if (o) found.push({ observed: o, policy: policyOf.get(sandboxOfEvent(event) ?? ''), sandbox: sandboxOfEvent(event) });
  }
  const explicit = str(inv, 'policy');
  // A running gateway holds the policies in force: advise against those and apply it there.
  if (explicit === undefined) {
    const client = await findGateway(resolveHome(inv.home, io.env), io.env);
    if (client) {
      try {
        const code = await suggestToGateway(client, found, { sandbox, sinceText, apply: flag(inv, 'apply'), auditFile, loggedPolicy }, io);
        if (code !== undefined) return code;
      } finally {
        client.close();
      }
    }
  }
  const file = explicit ?? loggedPolicy ?? undefined;
  // Without --policy: the refusals made under the file the last run used, not those of other policies.
  const observed = found.filter((f) => explicit !== undefined || f.policy === undefined || f.policy === (file === undefined ? null : path.resolve(file))).map((f) => f.observed);
  if (file === undefined && flag(inv, 'apply')) {
    throw new UsageError(
      loggedPolicy === null
        ? 'the run used the embedded default policy, which is not a file: write it out (`sluice policy show > policy.yaml`), run with --policy policy.yaml, or pass --policy FILE'
        : 'which policy file? pass --policy FILE',
    );
  }
  const label = file ?? '<embedded default policy>';
  const before = file ? fs.readFileSync(file, 'utf8') : DEFAULT_POLICY_YAML;
  if (observed.length === 0) {
    io.stderr.write(`sluice policy suggest: no refusals in ${auditFile}${sandbox ? ` for sandbox ${sandbox}` : ''}${sinceText ? ` since ${sinceText}` : ''}; nothing to suggest\n`);
    return 0;
  }
  const advice = advise(before, label, observed);
  for (const note of advice.notes) io.stderr.write(`sluice policy suggest: not changed: ${note}\n`);
  if (advice.changes.length === 0) {
    io.stderr.write(`sluice policy suggest: ${label} already allows what was refused (${observed.length} refusal${observed.length === 1 ? '' : 's'} looked at)\n`);
    return 0;
  }
  printAdvice(advice, label, io);
  if (!flag(inv, 'apply')) {
    if (file) io.stderr.write(`sluice policy suggest: to write it: sluice policy suggest --policy ${file}${sandbox ? ` --sandbox ${sandbox}` : ''}${sinceText ? ` --since ${sinceText}` : ''} --apply\n`);
    return 0;
  }
  writeAtomically(file!, advice.after);
  io.stderr.write(`sluice policy suggest: wrote ${file} (a Sluice watching it applies it now)\n`);
  return 0;
}

function printAdvice(advice: Advice, label: string, io: CliIO): void {
  // jsdiff puts an `Index:` line and a rule of `=` before the unified diff; `patch` and `git apply` need neither.
  io.stdout.write(createTwoFilesPatch(label, label, advice.before, advice.after, undefined, undefined, { context: 3 }).replace(/^Index: .*\n=+\n/, ''));
  for (const change of advice.changes) io.stderr.write(`sluice policy suggest: ${change}\n`);
}

/**
 * With a gateway running: the change is planned against the policy in force there (that
 * sandbox's while the gateway knows it, else the default policy) and `--apply` PUTs it, so it
 * holds at once and the gateway validates it again (and writes the default policy to its file).
 * Without --sandbox, only the shared listener's refusals count: a sandbox's were made under its own policy.
 * Undefined: not the gateway's business (a sandbox that ran under a policy file of its own).
 */
async function suggestToGateway(client: GatewayClient, found: Array<{ observed: Observed; sandbox: string | undefined }>, opts: { sandbox: string | undefined; sinceText: string | undefined; apply: boolean; auditFile: string; loggedPolicy: string | null | undefined }, io: CliIO): Promise<number | undefined> {
  let route = '/v1/policy';
  let target = "the gateway's default policy";
  if (opts.sandbox !== undefined) {
    const own = await client.call('GET', `/v1/sandboxes/${encodeURIComponent(opts.sandbox)}/policy`);
    if (own.status === 200) {
      route = `/v1/sandboxes/${encodeURIComponent(String(own.body.sandbox))}/policy`;
      target = `sandbox ${String(own.body.sandbox)}'s policy`;
    } else if (own.status !== 404) {
      io.stderr.write(`sluice policy suggest: ${client.where}: ${describeError(own.body)}\n`);
      return 1;
    }
  }
  const current = await client.call('GET', route);
  if (current.status !== 200) {
    io.stderr.write(`sluice policy suggest: ${client.where}: ${describeError(current.body)}\n`);
    return 1;
  }
  // A sandbox the gateway does not know that ran under a policy file of its own (`--no-gateway`): that file is the one to change.
  const gatewayFile = typeof current.body.file === 'string' ? current.body.file : null;
  if (route === '/v1/policy' && opts.sandbox !== undefined && opts.loggedPolicy !== undefined && opts.loggedPolicy !== gatewayFile) return undefined;
  const before = String(current.body.yaml);
  const observed = found.filter((f) => opts.sandbox !== undefined || f.sandbox === undefined).map((f) => f.observed);
  const where = `${opts.auditFile}${opts.sandbox ? ` for sandbox ${opts.sandbox}` : ' from the shared listener'}${opts.sinceText ? ` since ${opts.sinceText}` : ''}`;
  if (observed.length === 0) {
    io.stderr.write(`sluice policy suggest: no refusals in ${where}; nothing to suggest\n`);
    return 0;
  }
  const label = typeof current.body.file === 'string' ? current.body.file : route === '/v1/policy' ? '<gateway default policy>' : `<${target}>`;
  const advice = advise(before, label, observed);
  for (const note of advice.notes) io.stderr.write(`sluice policy suggest: not changed: ${note}\n`);
  if (advice.changes.length === 0) {
    io.stderr.write(`sluice policy suggest: ${target} on the gateway already allows what was refused (${observed.length} refusal${observed.length === 1 ? '' : 's'} looked at)\n`);
    return 0;
  }
  printAdvice(advice, label, io);
  if (!opts.apply) {
    io.stderr.write(`sluice policy suggest: --apply applies it to ${target} on the running gateway\n`);
    return 0;
  }
  const put = await client.call('PUT', route, advice.after, 'application/yaml');
  if (put.status !== 200) {
    io.stderr.write(`sluice policy suggest: the gateway refused it: ${describeError(put.body)}\n`);
    return 1;
  }
  io.stderr.write(`sluice policy suggest: applied to ${target} on the gateway${put.body.persisted ? ' (written to its file)' : put.body.revision !== undefined ? ` (revision ${String(put.body.revision)})` : ''}\n`);
  return 0;
}

/** Same folder, same mode, then a rename: a watcher never reads half a policy. */
function writeAtomically(file: string, text: string): void {
  const mode = fs.statSync(file).mode & 0o777;
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.sluice-${process.pid}.tmp`);
  fs.writeFileSync(tmp, text, { mode });
  fs.renameSync(tmp, file);
}
