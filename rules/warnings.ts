import { checkEndpoint } from './openshell-checks.js';
import { compileMiddlewares } from './middleware.js';
import type { Policy } from './schema.js';

/**
 * What a valid policy asks for that Sluice does differently or not at all. Every such feature is
 * named here, with what Sluice does instead, so nothing in a file is silently a no-op. `sluice up`
 * and `sluice policy check` print them; they never stop a policy from loading.
 */
export interface PolicyWarning {
  path: Array<string | number>;
  message: string;
}

export interface WarningOptions {
  /** True when every client is a sandbox Sluice runs, so `binaries` can be enforced. */
  sandboxed?: boolean;
}

export function policyWarnings(policy: Policy, opts: WarningOptions = {}): PolicyWarning[] {
  const out: PolicyWarning[] = [];
  for (const [key, np] of Object.entries(policy.network_policies)) {
    const base = ['network_policies', key];
    if (np.binaries && np.binaries.length > 0 && !opts.sandboxed) {
      out.push({ path: [...base, 'binaries'], message: 'binaries are enforced only for sandboxes Sluice runs (sluice run): for other clients Sluice cannot see which executable opened a connection, so this policy applies to every client' });
    }
    np.binaries?.forEach((b, i) => {
      if (b.harness !== undefined) out.push({ path: [...base, 'binaries', i, 'harness'], message: 'harness is a deprecated OpenShell field and is ignored (as in OpenShell)' });
    });
    np.endpoints.forEach((ep, i) => {
      const at = [...base, 'endpoints', i];
      checkEndpoint(ep, (kind, message, path) => {
        if (kind === 'warning') out.push({ path: [...at, ...(path ?? [])], message });
      });
      if (ep.tls === 'terminate' || ep.tls === 'passthrough') out.push({ path: [...at, 'tls'], message: `'tls: ${ep.tls}' is deprecated (as in OpenShell): TLS is intercepted by default; use 'tls: skip' to tunnel raw` });
      if (ep.port !== undefined && ep.ports !== undefined) out.push({ path: [...at, 'port'], message: 'port is ignored because ports is set (as in OpenShell)' });
      if (ep.protocol === 'sql') out.push({ path: [...at, 'protocol'], message: 'protocol: sql is relayed raw and only audited (OpenShell has no SQL parser either): SQL commands and rules are not inspected' });
      const credential = (['credential_signing', 'signing_service', 'signing_region', 'credential_binding'] as const).filter((k) => ep[k] !== undefined);
      if (credential.length > 0) out.push({ path: [...at, credential[0]!], message: `${credential.join(', ')}: OpenShell credential features; Sluice injects credentials from its own providers section (credentials are never given to the sandbox), so these fields do nothing here` });
      for (const k of ['websocket_credential_rewrite', 'request_body_credential_rewrite', 'allow_uninspected_credentials'] as const) {
        if (ep[k]) out.push({ path: [...at, k], message: `${k}: OpenShell credential rewriting option; Sluice replaces placeholders only at each provider's injection point and never lets a placeholder leave elsewhere, so this field does nothing here` });
      }
    });
  }
  // sandbox/landlock.ts refuses a sandbox under hard_requirement; said here at load as well, so
  // that `sluice up` and `sluice policy check` tell it before the first sandbox is refused
  if (policy.landlock?.compatibility === 'hard_requirement') {
    out.push({ path: ['landlock', 'compatibility'], message: "hard_requirement: Sluice applies no Landlock ruleset (filesystem_policy is enforced by each sandbox's own mount namespace), so every sandbox under this policy is refused (sandbox_refused); best_effort runs them under the mount namespace alone" });
  } else if (policy.landlock) {
    out.push({ path: ['landlock'], message: "Sluice applies no Landlock ruleset: filesystem_policy is enforced by each sandbox's own mount namespace instead (paths not listed are absent, read_only paths are mounted read-only)" });
  }
  for (const m of compileMiddlewares(policy.network_middlewares)) {
    const path = ['network_middlewares', Object.keys(policy.network_middlewares ?? {}).find((k) => (policy.network_middlewares![k]!.name || k) === m.name) ?? m.name];
    if (m.kind === 'redact') out.push({ path, message: `${m.middleware} runs as Sluice's egress DLP in redact mode on the selected hosts (every secret type Sluice recognises, in query strings and bodies)` });
    else if (m.failClosed) out.push({ path, message: `${m.middleware} cannot run in Sluice: with on_error fail_closed, requests to the selected hosts are refused (middleware_unavailable)` });
    else out.push({ path, message: `${m.middleware} cannot run in Sluice: with on_error fail_open, requests to the selected hosts pass without it` });
  }
  return out;
}
