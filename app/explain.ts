import path from 'node:path';
import { allow, Cancellation, createEventBus, decisionError, deny, isSluiceError, SluiceError } from '../core/index.js';
import type { Classification, ConnectContext, Decision, Destination, HostClass, Remedy, RequestContext, RouteVerdict } from '../core/index.js';
import { createRequestContext, createResolver, filterBuffer, isUpstreamFailure, parseUrl, refusalAfterPolicy, runRequestHooks } from '../proxy/index.js';
import type { ResolvedAddress, Resolver } from '../proxy/index.js';
import { compilePolicy } from '../rules/index.js';
import { buildPipeline } from './pipeline.js';
import type { Pipeline } from './pipeline.js';
import { PolicyLoadError, loadPolicy } from './sluice.js';

/**
 * `sluice explain`: what the live proxy would do with METHOD URL, decided by the live proxy's own
 * code — the same pipeline (classifier and stages, in order), the same request context, the same
 * resolver — stopped before anything is sent: no upstream, no backend, no DNS query, no secret read.
 */
export interface ExplainOptions {
  home: string;
  policyFile?: string;
  method: string;
  url: string;
  /** The request body (JSON for LLM calls: model and content decide the route). */
  body?: string;
  headers?: Record<string, string>;
  /** --resolve HOST=IP pins, as `sluice up` takes them. */
  resolve?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

export interface Explanation {
  /** forward: sent to the destination; answer: the privacy router answers from a backend; refuse. */
  outcome: 'forward' | 'answer' | 'refuse';
  /** The verdict the live proxy acts on and audits (a refusal's code, or the allow that decided). */
  decision: Decision;
  /** For a refusal: the status the client gets. */
  status?: number;
  hostClass?: HostClass;
  classification?: Classification;
  route?: RouteVerdict;
  lines: string[];
}

const HOST_CLASS: Record<HostClass, string> = {
  provider: 'an LLM provider host: the privacy router decides every request; what it does not recognise is refused unless a route or an exact L7 rule lets it out',
  virtual: 'the virtual LLM host: answered by the privacy router alone, nothing is ever sent to it',
  other: 'not an LLM host: the network policy decides',
  mixed: "not an LLM host, except for GitHub Copilot's session paths (/copilot_internal/user, /copilot_internal/v2/token), which the privacy router decides; the network policy decides the rest",
};

function verdict(d: Decision): string {
  const head = d.audited ? 'ALLOW (audit: would deny)' : d.action.toUpperCase();
  return `${head} ${d.code}: ${d.reason}${d.rule ? ` [${d.policy ? `${d.policy} ` : ''}${d.rule}]` : ''}`;
}

export async function explain(opts: ExplainOptions): Promise<Explanation> {
  const policyFile = opts.policyFile ? path.resolve(opts.policyFile) : undefined;
  const loaded = await loadPolicy(policyFile);
  if (!loaded.policy || loaded.errors.length) throw new PolicyLoadError(loaded.errors);
  const compiled = compilePolicy(loaded.policy);
  const pipeline = await buildPipeline({
    policy: () => compiled,
    initial: loaded.policy,
    bus: createEventBus(),
    home: opts.home,
    env: opts.env ?? process.env,
    ...(policyFile ? { baseDir: path.dirname(policyFile) } : {}),
    healthIntervalMs: 0,
    placeholdersOnly: true,
  });
  try {
    const resolver = createResolver({ pins: new Map(Object.entries(opts.resolve ?? {})) });
    const result = await decide(pipeline, resolver, opts);
    if (result.hostClass === 'other') {
      // The rules that nearly matched, from the policy's own explain (same decideConnect and decideRequest).
      const rules = compiled.explain(opts.method.toUpperCase(), opts.url).lines;
      const misses = rules.indexOf('near misses:');
      if (misses >= 0) result.lines.push(...rules.slice(misses));
    }
    return result;
  } finally {
    await pipeline.close();
  }
}

async function decide(pipeline: Pipeline, resolver: Resolver, opts: ExplainOptions): Promise<Explanation> {
  const method = opts.method.toUpperCase();
  const lines = [`${method} ${opts.url}`];
  const refuse = (err: unknown, ctx?: RequestContext, at?: { decision?: Decision; dest: Destination }): Explanation => {
    const raw = isSluiceError(err) ? err : new SluiceError('SLUICE_INTERNAL', (err as Error).message);
    // The same fix the live proxy puts in its 403 body: a refusal the policy made carries it, one
    // made after the policy allowed the host (address check, DLP, credentials) gets it here.
    const where = ctx ?? at;
    const e = where && !isUpstreamFailure(raw) && where.decision?.action !== 'deny' ? refusalAfterPolicy(raw, where.decision, where.dest.host).error : raw;
    const reason = String(e.context.reason ?? e.message);
    const shape = ctx?.classification.shape;
    lines.push(`VERDICT: REFUSE ${e.status} ${e.wire}: ${reason}${shape ? ` (in the ${shape} error shape the client's SDK reads)` : ''}`);
    const remedy = e.context.remedy as Remedy | undefined;
    if (remedy) lines.push(`  ${remedy.advice ? 'what to do' : 'fix'}:${remedy.advice ? ' ' : '        '}${remedy.summary}`, ...(remedy.yaml ? remedy.yaml.split('\n').map((l) => `               ${l}`) : []));
    return { outcome: 'refuse', decision: deny(e.wire, reason), status: e.status, ...(ctx ? { classification: ctx.classification } : {}), ...(ctx?.route ? { route: ctx.route } : {}), lines };
  };
  /** The address check the live proxy makes before it dials, where it needs no DNS. */
  const address = (dest: Destination, endpoint: Decision['endpoint']): ResolvedAddress | undefined => {
    const known = resolver.known(dest.host, dest.ipVersion, endpoint?.allowedIps ?? [], { exactHost: endpoint?.exactHost ?? false, port: dest.port });
    lines.push(`  address:     ${known ? `${known.address}${known.pinned ? ' (--resolve pin, trusted)' : ': not a special-purpose address'}` : `${dest.host} is resolved by DNS when the request is made; every address it resolves to is checked then`}`);
    return known;
  };

  let url: ReturnType<typeof parseUrl>;
  try {
    url = parseUrl(opts.url);
  } catch (err) {
    return refuse(err);
  }
  const { scheme, dest } = url;
  const hostClass = pipeline.classifier.hostClass(dest);
  lines.push(`  host:        ${dest.authority} is ${HOST_CLASS[hostClass]}`);
  const done = (e: Explanation): Explanation => ({ ...e, hostClass });

  // The listener resolves at CONNECT, except for LLM hosts, which it resolves only when a request is forwarded.
  const resolvedAtConnect = scheme === 'https' && hostClass === 'other';
  if (scheme === 'https') {
    const connect: ConnectContext = { id: 'explain', src: { ip: 'explain' }, dest, hostClass, sandbox: undefined, bus: createEventBus() };
    try {
      for (const stage of pipeline.stages) await stage.onConnect?.(connect);
    } catch (err) {
      return done(refuse(err));
    }
    const decision = connect.decision ?? allow('no stage objected');
    lines.push(`  connect:     ${verdict(decision)}`);
    const tlsSkip = decision.endpoint?.tlsSkip ?? false;
    try {
      if (resolvedAtConnect || tlsSkip) address(dest, decision.endpoint);
    } catch (err) {
      return done(refuse(err, undefined, { decision, dest }));
    }
    if (tlsSkip) {
      lines.push('VERDICT: FORWARD: tunneled raw (tls: skip), its requests are not inspected');
      return done({ outcome: 'forward', decision, lines });
    }
  }

  const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
  const headers: Record<string, string> = { host: dest.authority, ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}), ...opts.headers };
  const cancel = new Cancellation();
  const ctx = createRequestContext({ src: { ip: 'explain' }, dest, scheme, sandbox: undefined, bus: createEventBus(), signal: () => cancel.signal(), cancel, method, target: url.target, headers, classifier: pipeline.classifier });
  const c = ctx.classification;
  lines.push(`  path:        ${c.pathError ? `${c.path} cannot be read safely: ${c.pathError.message}` : c.path}`);
  if (c.hostClass !== 'other') lines.push(`  call:        ${c.api ?? `not a call the privacy router recognises (refusals in the ${c.shape ?? 'openai'} error shape)`}`);
  try {
    const buffered = await runRequestHooks(pipeline.stages, ctx, async (cap) => {
      if ((body?.length ?? 0) > cap) throw new SluiceError('SLUICE_BODY_TOO_LARGE', `request body exceeds the ${cap}-byte limit for inspected requests`);
      return body ?? Buffer.alloc(0);
    });
    // A body no stage buffered streams through the same request filters (DLP, the secret guard).
    if (buffered === undefined && body && ctx.requestFilters.length) await filterBuffer(ctx.requestFilters, body);
  } catch (err) {
    if (ctx.network) lines.push(`  network:     ${verdict(ctx.network)}`);
    if (ctx.route) lines.push(`  route:       ${describeRoute(ctx.route)}`);
    return done(refuse(err, ctx));
  }
  if (ctx.network) lines.push(`  network:     ${verdict(ctx.network)}`);
  if (ctx.route) lines.push(`  route:       ${describeRoute(ctx.route)}`);
  if (ctx.injected?.length) lines.push(`  credentials: the placeholder of ${ctx.injected.join(', ')} is replaced by the real value`);
  const decision = ctx.decision;
  if (ctx.route?.action === 'route' && c.api !== undefined && decision?.action === 'allow') {
    lines.push(`VERDICT: ANSWER: ${decision.reason} (route ${ctx.route.name}); nothing is sent to ${dest.host}`);
    return done({ outcome: 'answer', decision, classification: c, route: ctx.route, lines });
  }
  if (decision?.action !== 'allow') return done(refuse(decision ? decisionError(decision) : new SluiceError('SLUICE_INTERNAL', 'no stage decided this request'), ctx));
  try {
    if (!resolvedAtConnect) address(dest, decision.endpoint);
  } catch (err) {
    return done(refuse(err, ctx));
  }
  lines.push(`VERDICT: FORWARD: ${verdict(decision)}`);
  return done({ outcome: 'forward', decision, classification: c, ...(ctx.route ? { route: ctx.route } : {}), lines });
}

function describeRoute(r: RouteVerdict): string {
  if (r.action === 'route') return `${r.name}: answered by backend ${r.backend ?? '?'}${r.model ? `, model ${r.model}` : ''}`;
  if (r.action === 'allow') return `${r.name}: let out to the provider the agent called`;
  return r.name === 'none' ? 'no inference route matches' : `${r.name}: denied`;
}
