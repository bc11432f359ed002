import { z } from 'zod';
import { SluiceError } from '../core/index.js';
import type { Policy } from '../rules/index.js';
import { describeProviders } from '../credentials/index.js';
import type { EventStream } from './event-stream.js';
import { parseFilter } from './event-stream.js';
import type { StreamId } from './output-log.js';
import { STDERR, STDOUT } from './output-log.js';
import { DYNAMIC_SECTIONS, STATIC_SECTIONS } from './policy-sections.js';
import type { SandboxRecord } from './records.js';
import type { ApiRequest, Route } from './route.js';
import type { SandboxManager } from './sandbox-manager.js';
import * as s from './schemas.js';

/** The gateway's default policy: what `sluice up` enforces for host clients and gives new sandboxes. */
export interface DefaultPolicy {
  get(): { text: string; policy: Policy; file?: string; dir?: string };
  /** Validates and applies; SluiceError 422 when invalid. `persisted`: written to the policy file. */
  set(text: string): Promise<{ closedTunnels: number; persisted: boolean }>;
  reloadSecrets(): Promise<void>;
}

export interface RouteContext {
  manager: SandboxManager;
  events: EventStream;
  defaults: DefaultPolicy;
  version: string;
}

const json = (status: number, body: unknown) => ({ status, json: body });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, { description: ERROR_TEXT[c] ?? 'error', schema: s.errorSchema }]));
const ERROR_TEXT: Record<number, string> = {
  400: 'invalid request (every problem listed)',
  401: 'no token, or a token that is not valid (TCP listener)',
  403: "the token's scope does not allow this",
  404: 'no such sandbox',
  409: 'conflict: the sandbox state does not allow it, or a static policy section would change',
  413: 'body too large',
  415: 'unsupported content type',
  422: 'the policy is invalid',
  500: 'the sandbox could not be created',
};
const readErrors = errors(401, 404);
const writeErrors = errors(400, 401, 403, 404, 409);
const bool = (v: string | null, fallback: boolean) => (v === null ? fallback : v === '' || v === '1' || v === 'true' || v === 'yes');

export function sandboxView(r: SandboxRecord): z.input<typeof s.sandboxSchema> {
  return {
    name: r.name,
    driver: r.driver,
    state: r.state,
    command: r.command,
    ...(r.image ? { image: r.image } : {}),
    ...(r.workdir ? { workdir: r.workdir } : {}),
    env: r.env,
    stdin: r.stdin,
    created_at: r.createdAt,
    ...(r.startedAt ? { started_at: r.startedAt } : {}),
    ...(r.finishedAt ? { finished_at: r.finishedAt } : {}),
    ...(r.exitCode !== undefined ? { exit_code: r.exitCode } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.proxy ? { proxy: r.proxy } : {}),
    policy: { revision: r.policyRevision, updated_at: r.policyUpdatedAt },
  };
}

/** The policy document of a PUT: YAML or JSON text (JSON is YAML), as the file would hold it. */
async function policyText(req: ApiRequest): Promise<string> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!['application/yaml', 'application/x-yaml', 'text/yaml', 'application/json', 'text/plain'].includes(type)) {
    throw new SluiceError('SLUICE_API_UNSUPPORTED', `send the policy as application/yaml or application/json, not ${JSON.stringify(type || 'nothing')}`);
  }
  const text = (await req.body()).toString('utf8');
  if (text.trim() === '') throw new SluiceError('SLUICE_POLICY_INVALID', 'the policy is empty; it needs at least "version: 1"');
  return text;
}

const bindings = (policy: Policy) => ({
  providers: describeProviders(policy.providers).map((b) => ({ name: b.name, from: b.from, env: b.env, endpoints: b.endpoints, inject: b.inject, placeholder_prefix: b.placeholderPrefix, body: b.body })),
});

export function gatewayRoutes(ctx: RouteContext): Route[] {
  const { manager } = ctx;
  const nameParam = (req: ApiRequest) => req.params.name!;
  return [
    {
      method: 'GET', path: '/v1/health', scope: 'public', tags: ['gateway'], summary: 'Liveness: answers while the gateway serves',
      responses: { 200: { description: 'serving', schema: s.healthSchema } },
      handle: () => {
        const all = manager.list();
        return json(200, { status: 'ok', sandboxes: { running: all.filter((r) => r.state === 'running').length, total: all.length } });
      },
    },
    {
      method: 'GET', path: '/v1/version', scope: 'read', tags: ['gateway'], summary: 'Sluice and API versions',
      responses: { 200: { description: 'versions', schema: s.versionSchema }, ...errors(401) },
      handle: () => json(200, { version: ctx.version, api: 'v1', node: process.version }),
    },
    {
      method: 'GET', path: '/v1/sandboxes', scope: 'read', tags: ['sandboxes'], summary: 'Every sandbox the gateway knows, running or ended',
      responses: { 200: { description: 'the sandboxes, oldest first', schema: s.sandboxListSchema }, ...errors(401) },
      handle: () => json(200, { sandboxes: manager.list().map(sandboxView) }),
    },
    {
      method: 'POST', path: '/v1/sandboxes', scope: 'admin', tags: ['sandboxes'], summary: 'Create a sandbox and start its command',
      description: 'Answers once the command has started. Its proxy listener, policy and placeholders are its own.',
      body: { description: 'what to run, where, under which policy', contentTypes: ['application/json'], schema: s.createSandboxSchema },
      responses: { 201: { description: 'started', schema: s.sandboxSchema }, ...errors(400, 401, 403, 409, 415, 422, 500) },
      handle: async (req) => {
        const body = await req.json(s.createSandboxSchema);
        const record = await manager.create({
          command: body.command,
          driver: body.driver,
          stdin: body.stdin,
          autoRemove: body.auto_remove,
          ...(body.name ? { name: body.name } : {}),
          ...(body.image ? { image: body.image } : {}),
          ...(body.workdir ? { workdir: body.workdir } : {}),
          ...(body.env ? { env: body.env } : {}),
          ...(body.read_only?.length ? { readOnly: body.read_only } : {}),
          ...(body.policy ? { policy: body.policy } : {}),
          ...(body.policy_file ? { policyFile: body.policy_file } : {}),
          ...(body.limits ? { limits: { ...(body.limits.pids ? { pids: body.limits.pids } : {}), ...(body.limits.memory_mb ? { memoryMb: body.limits.memory_mb } : {}), ...(body.limits.cpus ? { cpus: body.limits.cpus } : {}) } } : {}),
        });
        return { status: 201, json: sandboxView(record), headers: { location: `/v1/sandboxes/${record.name}` } };
      },
    },
    {
      method: 'GET', path: '/v1/sandboxes/{name}', scope: 'read', tags: ['sandboxes'], summary: 'One sandbox',
      responses: { 200: { description: 'the sandbox', schema: s.sandboxSchema }, ...readErrors },
      handle: (req) => json(200, sandboxView(manager.get(nameParam(req)))),
    },
    {
      method: 'DELETE', path: '/v1/sandboxes/{name}', scope: 'admin', tags: ['sandboxes'], summary: 'Remove an ended sandbox (with force=true, stop it first)',
      query: { force: { description: 'stop a running sandbox at once (SIGKILL) and remove it', schema: z.boolean() } },
      responses: { 200: { description: 'removed', schema: z.object({ removed: z.string() }) }, ...writeErrors },
      handle: async (req) => {
        const name = manager.get(nameParam(req)).name;
        await manager.remove(name, bool(req.query.get('force'), false));
        return json(200, { removed: name });
      },
    },
    {
      method: 'POST', path: '/v1/sandboxes/{name}/stop', scope: 'admin', tags: ['sandboxes'], summary: 'Stop: SIGTERM, then SIGKILL after the grace period',
      body: { description: 'optional grace period', contentTypes: ['application/json'], schema: s.stopSchema, optional: true },
      responses: { 200: { description: 'stopped; its resources are released', schema: s.sandboxSchema }, ...writeErrors },
      handle: async (req) => {
        const body = Number(req.headers['content-length'] ?? 0) > 0 ? await req.json(s.stopSchema) : {};
        return json(200, sandboxView(await manager.stop(nameParam(req), body.grace_ms)));
      },
    },
    {
      method: 'POST', path: '/v1/sandboxes/{name}/kill', scope: 'admin', tags: ['sandboxes'], summary: 'Send a signal to the command (Ctrl-C of an attached `sluice run`)',
      body: { description: 'the signal', contentTypes: ['application/json'], schema: s.killSchema },
      responses: { 200: { description: 'sent', schema: z.object({ signal: z.string() }) }, ...writeErrors },
      handle: async (req) => {
        const { signal } = await req.json(s.killSchema);
        manager.kill(nameParam(req), signal);
        return json(200, { signal });
      },
    },
    {
      method: 'GET', path: '/v1/sandboxes/{name}/wait', scope: 'read', tags: ['sandboxes'], summary: 'Blocks until the command has ended; its exit code',
      responses: { 200: { description: 'ended', schema: s.waitSchema }, ...readErrors },
      handle: async (req) => {
        const ended = await Promise.race([manager.wait(nameParam(req)), new Promise<never>((_, reject) => req.signal.addEventListener('abort', () => reject(new SluiceError('SLUICE_BAD_REQUEST', 'client went away')), { once: true }))]);
        return json(200, { name: ended.name, state: ended.state, exit_code: ended.exitCode ?? null });
      },
    },
    {
      method: 'GET', path: '/v1/sandboxes/{name}/logs', scope: 'read', tags: ['sandboxes'], summary: "The command's stdout and stderr, stored and (with follow) live",
      description: 'format=frames (default): 8-byte headers as Docker attach (stream 1 stdout, 2 stderr, 3 Sluice notes as JSON: the last is {"exit_code":…}). format=raw: the chosen streams\' bytes only.',
      query: {
        follow: { description: 'stay open until the command ends', schema: z.boolean() },
        stdout: { description: 'include stdout (default true)', schema: z.boolean() },
        stderr: { description: 'include stderr (default true)', schema: z.boolean() },
        format: { description: 'frames | raw', schema: z.enum(['frames', 'raw']) },
      },
      responses: { 200: { description: 'the output', contentType: 'application/vnd.sluice.stream' }, ...readErrors },
      handle: (req) => {
        const output = manager.output(nameParam(req));
        const streams = new Set<StreamId>();
        if (bool(req.query.get('stdout'), true)) streams.add(STDOUT);
        if (bool(req.query.get('stderr'), true)) streams.add(STDERR);
        const format = req.query.get('format') ?? 'frames';
        if (format !== 'frames' && format !== 'raw') throw new SluiceError('SLUICE_API_INVALID', 'format must be frames or raw');
        return { stream: (res) => output.serve(res, { streams, format, follow: bool(req.query.get('follow'), false) }) };
      },
    },
    {
      method: 'POST', path: '/v1/sandboxes/{name}/stdin', scope: 'admin', tags: ['sandboxes'], summary: "Streams the request body to the command's stdin; its end closes stdin",
      body: { description: 'raw bytes, any length (chunked)', contentTypes: ['application/octet-stream'] },
      responses: { 200: { description: 'stdin closed', schema: z.object({ bytes: z.int() }) }, ...writeErrors },
      handle: async (req) => {
        const stdin = manager.takeStdin(nameParam(req));
        let bytes = 0;
        stdin.on('error', () => undefined);
        for await (const chunk of req.raw as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          if (!stdin.write(chunk)) await new Promise<void>((resolve) => { stdin.once('drain', resolve); stdin.once('close', resolve); });
          if (stdin.destroyed) break;
        }
        stdin.end();
        return json(200, { bytes });
      },
    },
    {
      method: 'GET', path: '/v1/sandboxes/{name}/policy', scope: 'read', tags: ['policies'], summary: "A sandbox's policy as last set",
      responses: { 200: { description: 'the policy', schema: s.policyViewSchema }, ...readErrors },
      handle: (req) => {
        const { record, text } = manager.policy(nameParam(req));
        return json(200, { sandbox: record.name, revision: record.policyRevision, updated_at: record.policyUpdatedAt, yaml: text, static_sections: [...STATIC_SECTIONS], dynamic_sections: [...DYNAMIC_SECTIONS] });
      },
    },
    {
      method: 'PUT', path: '/v1/sandboxes/{name}/policy', scope: 'admin', tags: ['policies'], summary: "Replace a running sandbox's policy; dynamic sections apply at once, static ones may not change",
      body: { description: 'the policy document', contentTypes: ['application/yaml', 'application/json'] },
      responses: { 200: { description: 'in force for this sandbox', schema: s.policyPutResultSchema }, ...errors(401, 403, 404, 409, 415, 422) },
      handle: async (req) => {
        const result = await manager.setPolicy(nameParam(req), await policyText(req));
        return json(200, { sandbox: result.record.name, revision: result.record.policyRevision, closed_tunnels: result.closedTunnels });
      },
    },
    {
      method: 'GET', path: '/v1/policy', scope: 'read', tags: ['policies'], summary: "The gateway's default policy (host clients; new sandboxes start from it)",
      responses: { 200: { description: 'the policy', schema: s.policyViewSchema }, ...errors(401) },
      handle: () => {
        const current = ctx.defaults.get();
        return json(200, { ...(current.file ? { file: current.file } : {}), yaml: current.text, static_sections: [...STATIC_SECTIONS], dynamic_sections: [...DYNAMIC_SECTIONS] });
      },
    },
    {
      method: 'PUT', path: '/v1/policy', scope: 'admin', tags: ['policies'], summary: 'Replace the default policy (written to its file when it has one)',
      body: { description: 'the policy document', contentTypes: ['application/yaml', 'application/json'] },
      responses: { 200: { description: 'in force', schema: s.policyPutResultSchema }, ...errors(401, 403, 415, 422) },
      handle: async (req) => {
        const result = await ctx.defaults.set(await policyText(req));
        return json(200, { closed_tunnels: result.closedTunnels, persisted: result.persisted });
      },
    },
    {
      method: 'GET', path: '/v1/providers', scope: 'read', tags: ['providers'], summary: 'Credential providers and what they bind; never a value',
      query: { sandbox: { description: "a sandbox's providers instead of the default policy's", schema: z.string() } },
      responses: { 200: { description: 'the providers', schema: s.providerListSchema }, ...readErrors },
      handle: (req) => {
        const sandbox = req.query.get('sandbox');
        if (sandbox === null) return json(200, bindings(ctx.defaults.get().policy));
        const live = manager.listeners().find((l) => l.name === manager.get(sandbox).name);
        if (!live) throw new SluiceError('SLUICE_API_CONFLICT', `sandbox ${sandbox} is not running`);
        return json(200, { sandbox: live.name, ...bindings(live.listener.policy()) });
      },
    },
    {
      method: 'POST', path: '/v1/providers/{name}/reload', scope: 'admin', tags: ['providers'], summary: 'Re-read a secret from its source, wherever the provider is in force',
      responses: { 200: { description: 'per listener: reloaded or why not (never a value)', schema: s.providerReloadSchema }, ...writeErrors },
      handle: async (req) => {
        const provider = req.params.name!;
        const reloaded: Array<{ listener: string; ok: boolean; error?: string }> = [];
        const attempt = async (listener: string, run: () => Promise<void>) => {
          try {
            await run();
            reloaded.push({ listener, ok: true });
          } catch (err) {
            reloaded.push({ listener, ok: false, error: (err as Error).message });
          }
        };
        if (ctx.defaults.get().policy.providers?.[provider]) await attempt('default', () => ctx.defaults.reloadSecrets());
        for (const { name, listener } of manager.listeners()) {
          if (listener.policy().providers?.[provider]) await attempt(name, () => listener.reloadSecrets());
        }
        if (reloaded.length === 0) throw new SluiceError('SLUICE_API_NOT_FOUND', `no policy in force names provider ${JSON.stringify(provider)}`);
        return json(200, { provider, reloaded });
      },
    },
    {
      method: 'GET', path: '/v1/events', scope: 'read', tags: ['events'], summary: 'Audit events as Server-Sent Events (OCSF records), filtered',
      description: 'Reconnect with Last-Event-ID to replay what is still in the ring.',
      query: {
        sandbox: { description: 'only these sandboxes (repeat or comma-separate)', schema: z.string() },
        type: { description: 'only these event types: connect, request, policy, upstream_error, llm_call, finding, sandbox, api', schema: z.string() },
        action: { description: 'allow | deny', schema: z.enum(['allow', 'deny']) },
        since: { description: 'replay events after this id (like Last-Event-ID)', schema: z.int() },
      },
      responses: { 200: { description: 'the stream', contentType: 'text/event-stream' }, ...errors(400, 401) },
      handle: (req) => {
        const filter = parseFilter(req.query);
        const since = req.query.get('since') ?? (req.headers['last-event-id'] as string | undefined);
        const after = since === undefined || since === null ? undefined : Number(since);
        if (after !== undefined && !Number.isInteger(after)) throw new SluiceError('SLUICE_API_INVALID', 'since / Last-Event-ID must be an event id');
        return { stream: (res) => ctx.events.serve(req.raw, res, filter, after) };
      },
    },
  ];
}
