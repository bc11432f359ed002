import type { Remedy } from './decision.js';

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
export function endpointYaml(policy: string, host: string, comment: string, body: string[]): string {
  return [
    'network_policies:',
    `  ${yamlScalar(policy)}:`,
    '    endpoints:',
    `      - host: ${yamlScalar(host)}   # ${comment}`,
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
  return `Sluice's egress policy refused this request (${code}); retrying it will not help. Tell the operator running Sluice what you were doing and ask them to allow it: ${remedy.summary}. On the host, \`sluice policy suggest --apply\` turns logged refusals into that change.`;
}
