import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorCode } from '../core/index.js';
import { SluiceError } from '../core/index.js';
import type { RequestContext, Stage } from '../core/index.js';
import type { EndpointTarget } from './endpoints.js';
import { anyEndpointMatches } from './endpoints.js';
import type { Keyring, Provider } from './keyring.js';
import type { Occurrence } from './placeholder-finder.js';
import type { Place, Rewriter } from './request-rewrite.js';
import { describeInjectionPoints } from './profiles.js';
import { normalizeText } from '../core/index.js';
import { rewriteHeaders, rewritePath, rewriteQuery } from './request-rewrite.js';
import type { SandboxView } from './sandbox-view.js';
import type { SecretPattern } from './secret-variants.js';
import { findSecretInText } from './secret-variants.js';
import { createGuardFilter, createScrubFilter, scrubText } from './stream-scanner.js';

export interface CredentialStageDeps {
  /** The current snapshot; undefined once closed (then nothing is injected). */
  current(): { keyring: Keyring; viewFor(sandbox: string): SandboxView } | undefined;
  /** Cap for opt-in body injection. */
  maxBodyBytes: number;
}

interface RequestState {
  keyring: Keyring;
  view: SandboxView;
  target: EndpointTarget;
  bodyProviders: Provider[];
  /** A WebSocket's echo finding is reported once per connection. */
  echoed?: boolean;
}

const STATE = Symbol('credentials');

/**
 * Runs after the allow decision, on intercepted requests: real values go only where their
 * provider's endpoints say, placeholders anywhere else are refused, real values anywhere at all
 * (in any common encoding) are refused, and echoes of real values are scrubbed from responses.
 */
export function createCredentialStage(deps: CredentialStageDeps): Stage {
  function refuse(ctx: RequestContext, keyring: Keyring, code: ErrorCode, kind: string, subjects: string[], reason: string): never {
    // Belt and braces: whatever went into the words, no spelling of a secret comes out. The path
    // is scrubbed too: the proxy puts it in the 403 body and the audit log's request event.
    const redact = (text: string): string => scrubText(keyring.patterns, text, (p) => `[REDACTED:${p.provider}]`);
    const safe = redact(reason);
    // The proxy shows this spelling of the path in the 403 body and the audit log's request event.
    const path = redact(ctx.classification.path);
    ctx.bus.emit({
      type: 'finding',
      time: Date.now(),
      src: ctx.src,
      dst: { host: ctx.dest.host, port: ctx.dest.port },
      kind,
      subjects,
      action: 'blocked',
      reason: safe,
    });
    throw new SluiceError(code, safe, { reason: safe, host: ctx.dest.host, port: ctx.dest.port, path, providers: subjects });
  }

  function onSecret(ctx: RequestContext, keyring: Keyring, p: SecretPattern, where: string): never {
    const spelling = p.kind === 'raw' ? '' : ` (${p.kind}-encoded)`;
    return refuse(ctx, keyring, 'SLUICE_SECRET_EXFILTRATION', 'secret_exfiltration', [p.provider],
      `request carries the real credential of provider "${p.provider}"${spelling} in ${where}; Sluice injects it, the sandbox must not send it`);
  }

  function admit(ctx: RequestContext, st: RequestState, o: Occurrence, where: string): Provider {
    if (o.provider === undefined && o.alias !== undefined) {
      return refuse(ctx, st.keyring, 'SLUICE_CREDENTIAL_UNKNOWN', 'credential_unknown', [],
        `${where} carries openshell:resolve:env:${o.alias}, but no provider sets ${o.alias} in this sandbox; add ${o.alias} to the env: of the provider whose credential it stands for`);
    }
    if (o.provider === undefined) {
      return refuse(ctx, st.keyring, 'SLUICE_CREDENTIAL_UNKNOWN', 'credential_unknown', [],
        `${where} carries a Sluice placeholder that was not issued to this sandbox (revoked, or another sandbox's)`);
    }
    if (!anyEndpointMatches(o.provider.compiled, st.target)) {
      const allowed = o.provider.compiled.map((e) => e.label).join(', ');
      const clear = ctx.scheme === 'http' && anyEndpointMatches(o.provider.compiled, { ...st.target, scheme: 'https' });
      return refuse(ctx, st.keyring, 'SLUICE_CREDENTIAL_MISMATCH', 'credential_endpoint_mismatch', [o.provider.name],
        clear
          ? `the credential of provider "${o.provider.name}" (in ${where}) may not be sent over plain HTTP to ${ctx.dest.authority}; use https, or set allow_cleartext: true on the provider's endpoint`
          : `the credential of provider "${o.provider.name}" (in ${where}) may not be sent to ${ctx.scheme}://${ctx.dest.authority} (this host, port or path); its endpoints are ${allowed}`);
    }
    return o.provider;
  }

  /** A placeholder on its own endpoint, but outside the one place its provider injects at: refused. */
  function atInjectionPoint(ctx: RequestContext, st: RequestState, provider: Provider, where: string, place: Place): void {
    const points = provider.injectsAt;
    const ok = 'header' in place ? points.headers.has(place.header.toLowerCase()) : 'query' in place ? points.query === place.query : points.path;
    if (ok) return;
    refuse(ctx, st.keyring, 'SLUICE_CREDENTIAL_MISMATCH', 'credential_endpoint_mismatch', [provider.name],
      `the credential of provider "${provider.name}" is injected only in ${describeInjectionPoints(points)}; a placeholder in ${where} is refused`);
  }

  function rewriter(ctx: RequestContext, st: RequestState, inject: boolean): Rewriter {
    return {
      checkSecrets(text, where) {
        // As written, and with percent-, JSON- and line-break spellings undone (%73%6B… is the key too).
        const hit = findSecretInText(st.keyring.patterns, text) ?? findSecretInText(st.keyring.patterns, normalizeText(text, { lineBreaks: 'drop' }));
        if (hit) onSecret(ctx, st.keyring, hit, where);
      },
      replace(text, where, place, encode) {
        const found = st.view.finder.find(text);
        if (found.length === 0) return text;
        let out = '';
        let pos = 0;
        for (const o of found) {
          const provider = admit(ctx, st, o, where);
          atInjectionPoint(ctx, st, provider, where, place);
          const secret = provider.secret;
          // a routed provider's placeholder has nothing behind it: where the router does not answer, it goes as it is
          if (!inject || provider.routedOnly) continue;
          if (!(ctx.injected ??= []).includes(provider.name)) ctx.injected.push(provider.name);
          // `sluice explain` reads no secret: it learns which provider would be injected, and stops there.
          if (secret === undefined) continue;
          if (/[\r\n\0]/.test(secret)) {
            refuse(ctx, st.keyring, 'SLUICE_CREDENTIAL_UNKNOWN', 'credential_invalid', [provider.name], `the credential of provider "${provider.name}" contains CR, LF or NUL; refusing to send it`);
          }
          out += text.slice(pos, o.start) + encode(secret);
          pos = o.end;
        }
        return pos === 0 ? text : out + text.slice(pos);
      },
    };
  }

  return {
    name: 'credentials',

    onConnect(ctx) {
      // Before the name is resolved: a key spelled as DNS labels would leave as the query itself.
      const keyring = deps.current()?.keyring;
      const hit = keyring && secretInHost(keyring.patterns, ctx.dest.host);
      if (!keyring || !hit) return;
      const reason = `the CONNECT host name carries the real credential of provider "${hit.provider}"${hit.kind === 'raw' ? '' : ` (${hit.kind}-encoded)`}; it was not resolved`;
      ctx.bus.emit({ type: 'finding', time: Date.now(), src: ctx.src, dst: { port: ctx.dest.port }, kind: 'secret_exfiltration', subjects: [hit.provider], action: 'blocked', reason });
      throw new SluiceError('SLUICE_SECRET_EXFILTRATION', reason, { reason, providers: [hit.provider] });
    },

    onRequestHeaders(ctx) {
      const snapshot = deps.current();
      if (!snapshot || snapshot.keyring.providers.size === 0 || ctx.decision?.action === 'deny') return;
      const { keyring } = snapshot;
      // Plain-HTTP requests name their host here, and it is resolved after the stages.
      const inHost = secretInHost(keyring.patterns, ctx.dest.host);
      if (inHost) onSecret(ctx, keyring, inHost, 'the host name');
      const view = snapshot.viewFor(ctx.sandbox ?? 'default');
      const target: EndpointTarget = { dest: ctx.dest, path: ctx.classification.path, scheme: ctx.scheme };
      const st: RequestState = { keyring, view, target, bodyProviders: [] };
      ctx.state.set(STATE, st);
      // Injected only where the network policy lets the request go; on an LLM host the router may
      // still answer the call itself, and then the request carrying it is never sent.
      const inject = ctx.network?.action === 'allow';
      const rw = rewriter(ctx, st, inject);

      const headers = rewriteHeaders(ctx.headers, rw);
      const query = rewriteQuery(ctx.query, rw);
      const path = rewritePath(ctx.upstreamPath ?? ctx.classification.path, rw);
      if (headers) ctx.headers = headers;
      if (inject && (headers || query !== undefined || path !== undefined)) {
        // A host that now holds a real value may echo it; the scrubber can only see identity-coded bytes.
        ctx.headers['accept-encoding'] = 'identity';
      }
      if (query !== undefined) ctx.query = query;
      if (path !== undefined) ctx.upstreamPath = path;

      if (inject) {
        st.bodyProviders = [...keyring.providers.values()].filter((p) => p.body && p.secret !== undefined && anyEndpointMatches(p.compiled, target));
        if (st.bodyProviders.length > 0 && !ctx.upgrade) ctx.bufferRequestBody = Math.min(ctx.bufferRequestBody ?? Infinity, deps.maxBodyBytes);
      }

      // The body a provider opted into may legitimately carry its own value after injection.
      ctx.requestFilters.push(createGuardFilter({
        patterns: keyring.patterns,
        matcher: keyring.matcher,
        exempt: new Set(st.bodyProviders.map((p) => p.name)),
        finder: view.finder,
        onSecret: (p) => onSecret(ctx, keyring, p, 'the request body'),
        onPlaceholder: (o) => void admit(ctx, st, o, 'the request body'),
      }));

      // With no real value in the keyring an answer cannot echo one: no filter, and a streamed answer is not re-chunked.
      if (keyring.patterns.length === 0) return;
      let reported = false;
      ctx.responseFilters.push(createScrubFilter(keyring.patterns, keyring.matcher, (p) => {
        if (!reported) {
          reported = true;
          ctx.bus.emit({
            type: 'finding', time: Date.now(), src: ctx.src, dst: { host: ctx.dest.host, port: ctx.dest.port },
            kind: 'secret_echo', subjects: [p.provider], action: 'redacted',
            reason: `upstream response echoed the credential of provider "${p.provider}"; replaced before it reached the sandbox`,
          });
        }
        return Buffer.from(echoReplacement(view, p), 'latin1');
      }));
    },

    onRequestBody(ctx, body) {
      const st = ctx.state.get(STATE) as RequestState | undefined;
      if (!st || st.bodyProviders.length === 0) return undefined;
      const secret = st.keyring.matcher.first(body);
      if (secret) onSecret(ctx, st.keyring, secret, 'the request body');
      const text = body.toString('latin1');
      const found = st.view.finder.find(text);
      if (found.length === 0) return undefined;
      const encode = bodyEncoder(ctx.headers);
      let out = '';
      let pos = 0;
      for (const o of found) {
        const provider = admit(ctx, st, o, 'the request body');
        if (!st.bodyProviders.includes(provider) || provider.secret === undefined) continue;
        out += text.slice(pos, o.start) + Buffer.from(encode(provider.secret), 'utf8').toString('latin1');
        pos = o.end;
      }
      return pos === 0 ? undefined : Buffer.from(out + text.slice(pos), 'latin1');
    },

    onWebSocketMessage(ctx, message) {
      const st = ctx.state.get(STATE) as RequestState | undefined;
      if (!st) return undefined;
      const text = message.data.toString('latin1');
      if (message.direction === 'in') {
        // An upstream that echoes a key over the socket has it replaced, as in a response body.
        const scrubbed = scrubText(st.keyring.patterns, text, (p) => {
          if (!st.echoed) {
            st.echoed = true;
            ctx.bus.emit({
              type: 'finding', time: Date.now(), src: ctx.src, dst: { host: ctx.dest.host, port: ctx.dest.port },
              kind: 'secret_echo', subjects: [p.provider], action: 'redacted',
              reason: `upstream WebSocket message echoed the credential of provider "${p.provider}"; replaced before it reached the sandbox`,
            });
          }
          return echoReplacement(st.view, p);
        });
        return scrubbed === text ? undefined : Buffer.from(scrubbed, 'latin1');
      }
      const secret = st.keyring.matcher.first(message.data);
      if (secret) onSecret(ctx, st.keyring, secret, 'a WebSocket message');
      const found = st.view.finder.find(text);
      if (found.length === 0) return undefined;
      // Placeholders in messages follow the body rule: checked always, replaced only for providers that opted into bodies.
      let out = '';
      let pos = 0;
      for (const o of found) {
        const provider = admit(ctx, st, o, 'a WebSocket message');
        if (!st.bodyProviders.includes(provider) || provider.secret === undefined) continue;
        out += text.slice(pos, o.start) + Buffer.from(provider.secret, 'utf8').toString('latin1');
        pos = o.end;
      }
      return pos === 0 ? undefined : Buffer.from(out + text.slice(pos), 'latin1');
    },

    onResponseHeaders(ctx, head) {
      const st = ctx.state.get(STATE) as RequestState | undefined;
      if (!st || st.keyring.patterns.length === 0) return;
      const scrub = (v: string): string => scrubText(st.keyring.patterns, v, (p) => echoReplacement(st.view, p));
      for (const [name, value] of Object.entries(head.headers)) {
        if (value === undefined) continue;
        head.headers[name] = Array.isArray(value) ? value.map(scrub) : scrub(value);
      }
    },
  };
}

/**
 * A spelling of a real secret in a host name, in any letter case (names arrive lowercased) and
 * across labels (dots taken out).
 */
function secretInHost(patterns: readonly SecretPattern[], host: string): SecretPattern | undefined {
  const readings = [host, host.replaceAll('.', '')];
  return patterns.find((p) => {
    const needle = p.text.toLowerCase();
    return readings.some((r) => r.includes(needle));
  });
}

/** Raw and URL spellings become the sandbox's own placeholder; encoded fragments cannot, so they are marked. */
function echoReplacement(view: SandboxView, p: SecretPattern): string {
  const placeholder = view.placeholderOf.get(p.provider);
  return (p.kind === 'raw' || p.kind === 'url') && placeholder !== undefined ? placeholder : `[REDACTED:${p.provider}]`;
}

function bodyEncoder(headers: IncomingHttpHeaders): (secret: string) => string {
  const type = String(headers['content-type'] ?? '').toLowerCase();
  if (type.includes('json')) return (s) => JSON.stringify(s).slice(1, -1);
  if (type.includes('application/x-www-form-urlencoded')) return encodeURIComponent;
  return (s) => s;
}
