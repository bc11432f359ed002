import type { Remedy } from './decision.js';
import type { SluiceError } from './errors.js';

/**
 * Builders for the small pieces of policy YAML that remedies show. Plain scalars where YAML
 * reads them back as the same string, JSON-quoted otherwise (JSON strings are valid YAML).
 */
const PLAIN = /^[A-Za-z0-9_/.][A-Za-z0-9_./@%+~=-]*$/;
const YAML_WORDS = /^(?:true|false|yes|no|on|off|null|y|n|~)$/i;

export function yamlScalar(value: string | number | boolean): string {
  if (typeof value !== 'string') return String(value);
  if (PLAIN.test(value) && !YAML_WORDS.test(value) && Number.isNaN(Number(value))) return value;
  return JSON.stringify(value);
}

/** `{ host: api.example.com, port: 443 }`: one line, pasteable into a list. */
export function flowYaml(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(flowYaml).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{ ${entries.map(([k, v]) => `${k}: ${flowYaml(v)}`).join(', ')} }`;
  }
  return yamlScalar(value as string | number | boolean);
}

/** The host part of an endpoint label (`api.example.com:443`, `[::1]:{80,443}`). */
export function labelHost(label: string): string {
  const m = /^(\[[^\]]+\]|[^:]+)/.exec(label);
  return (m?.[1] ?? label).replace(/^\[|\]$/g, '');
}

/** The lines that lead to an endpoint of a policy: `network_policies:` → name → endpoints → the host line. */
export function endpointYaml(policy: string, host: string | undefined, comment: string, body: string[]): string {
  return [
    'network_policies:',
    `  ${yamlScalar(policy)}:`,
    '    endpoints:',
    // A hostless endpoint (allowed_ips only) has no line of its own to point at.
    host === undefined ? `      - # ${comment}` : `      - host: ${yamlScalar(host)}   # ${comment}`,
    ...body.map((line) => `        ${line}`),
  ].join('\n');
}

export interface AddressFacts {
  host: string;
  address: string;
  /** Loopback, link-local and the like: no policy makes Sluice dial them. */
  neverAllowed: boolean;
  rangeLabel?: string;
  /** The network policy and endpoint label that allowed the host. */
  policy?: string;
  rule?: string;
}

/** The fix for an `ssrf_denied`: the `allowed_ips` line for the endpoint that matched, or why there is none. */
export function addressRemedy(f: AddressFacts): Remedy {
  if (f.neverAllowed) {
    return {
      summary: `${f.address} is a ${f.rangeLabel ?? 'special'} address, which Sluice never dials whatever the policy says; if ${f.host} is a service you run there, pin it on the command line: --resolve ${f.host}=${f.address}`,
      yaml: '',
      advice: true,
    };
  }
  const cidr = `${f.address}/${f.address.includes(':') ? 128 : 32}`;
  if (!f.policy || !f.rule) {
    return { summary: `add allowed_ips: ["${cidr}"] to the endpoint that allows ${f.host}`, yaml: `allowed_ips: [${yamlScalar(cidr)}]` };
  }
  return {
    summary: `add allowed_ips: ["${cidr}"] to endpoint ${f.rule} of network policy ${f.policy} (${f.host} resolves to ${f.address})`,
    yaml: endpointYaml(f.policy, labelHost(f.rule), `the endpoint that matched: ${f.rule}`, [`allowed_ips: [${yamlScalar(cidr)}]   # add to the list if there is one`]),
  };
}

/** Words an agent can relay to its human when it reads a refusal. */
export function agentGuidance(code: string, remedy: Remedy): string {
  if (remedy.advice) return `Sluice refused this request (${code}); retrying it will not help. ${remedy.summary.charAt(0).toUpperCase()}${remedy.summary.slice(1)}; tell the operator running Sluice if you cannot.`;
  const yaml = remedy.yaml ? `:\n${remedy.yaml}\n` : '. ';
  return `Sluice's egress policy refused this request (${code}); retrying it will not help. Tell the operator running Sluice what you were doing and ask them to allow it: ${remedy.summary}${yaml}On the host, \`sluice policy suggest --apply\` turns logged refusals into that change.`;
}

export interface RefusalFacts {
  host: string;
  /** The network policy and endpoint that allowed the host, when one did. */
  policy?: string;
  rule?: string;
}

/**
 * The fix for a refusal a stage made after the network policy allowed the host: what to change
 * (an endpoint's `dlp`, a provider's endpoints, a route) or, where no policy change is right (a
 * real credential in a request), what to do instead. Undefined where the client is at fault.
 */
export function stageRemedy(err: SluiceError, f: RefusalFacts): Remedy | undefined {
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const where = f.policy && f.rule ? `endpoint ${f.rule} of network policy ${f.policy}` : `the endpoint that allows ${f.host}`;
  switch (err.code) {
    case 'SLUICE_DLP_BLOCKED': {
      const types = list(err.context.entities).join(', ') || 'a secret';
      return {
        summary: `if ${f.host} may receive ${types}, set dlp: redact (sent masked) or dlp: off on ${where}`,
        yaml: f.policy && f.rule ? endpointYaml(f.policy, labelHost(f.rule), `the endpoint that allows ${f.host} (${f.rule})`, ['dlp: redact   # or off']) : 'dlp: redact   # or off, on the endpoint',
      };
    }
    case 'SLUICE_CREDENTIAL_MISMATCH': {
      const provider = list(err.context.providers)[0] ?? 'PROVIDER';
      return {
        summary: `the placeholder of provider ${provider} goes only to that provider's hosts; if ${f.host} should receive its credential, add { host: ${f.host} } to providers.${provider}.endpoints`,
        yaml: ['providers:', `  ${yamlScalar(provider)}:`, '    endpoints:', `      - { host: ${yamlScalar(f.host)} }   # add to the list`].join('\n'),
      };
    }
    case 'SLUICE_SECRET_EXFILTRATION':
      return { summary: `no policy change lets a real credential out: the sandbox should hold only placeholders (\`sluice env\` lists them); find where the real value of provider ${list(err.context.providers).join(', ') || '?'} came from`, yaml: '', advice: true };
    case 'SLUICE_CREDENTIAL_UNKNOWN':
      return { summary: 'the request holds a placeholder no provider of this policy issued (stale, or another sandbox\'s): take this sandbox\'s placeholders from `sluice env`, or add the provider under providers:', yaml: '', advice: true };
    case 'SLUICE_ROUTE_DENIED':
      return {
        summary: `a route of inference.routes${err.context.rule ? ` (${String(err.context.rule)})` : ''} refuses this call; add a route before it that sends the call to a backend, or action: allow`,
        yaml: ['inference:', '  routes:', '    - { match: { model: "MODEL" }, backend: BACKEND }   # before the route that refuses it'].join('\n'),
      };
    case 'SLUICE_REDACTION_BLOCKED':
      return { summary: 'the call holds a type whose privacy operator is block; to let it leave redacted, give that type another operator under privacy.operators (pseudonymize, mask, hash or remove)', yaml: 'privacy:\n  operators: { TYPE: pseudonymize }' };
    default:
      return undefined;
  }
}
