import type { Decision } from '../core/index.js';

/**
 * OpenShell's denial fields, so that agents and skills written for OpenShell read Sluice's 403s:
 * `rule_missing` (what kind of rule would have allowed the request), `next_steps` (what to do) and
 * `agent_guidance` (in words, with the exact YAML that would allow the request, or the deny rule
 * that forbids it). Sluice has no proposal API: the steps are the policy file and `sluice explain`.
 */
export interface DenialTarget {
  host: string;
  port: number;
  method?: string | undefined;
  path?: string | undefined;
  scheme?: 'http' | 'https' | undefined;
}

export interface DenialGuidance {
  layer: 'l4' | 'l7';
  protocol?: string;
  rule_missing: Record<string, string | number>;
  next_steps: Array<Record<string, string>>;
  agent_guidance: string;
}

function yamlString(s: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(s) && !/^[0-9.]+$/.test(s) ? s : JSON.stringify(s);
}

function policyKey(host: string): string {
  return `allow_${host.replace(/[^A-Za-z0-9]+/g, '_')}`.slice(0, 64);
}

/** Destinations no policy can open (loopback, link-local incl. cloud metadata, unspecified). */
export function neverReachable(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === 'metadata.google.internal' || /^(127\.|169\.254\.|0\.)/.test(h) || h === '::1' || h === '::' || /^fe[89ab]/.test(h) || /^::ffff:(127|169\.254|0)\./.test(h);
}

export function denialGuidance(decision: Decision, target: DenialTarget): DenialGuidance {
  const authority = target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  if (neverReachable(target.host)) {
    return {
      layer: 'l4',
      rule_missing: { type: 'none', layer: 'l4', host: target.host, port: target.port },
      next_steps: [],
      agent_guidance: `${authority} is a loopback, link-local (cloud metadata) or unspecified destination; Sluice never opens it, whatever the policy says. Do not retry.`,
    };
  }
  const url = `${target.scheme ?? (target.port === 80 ? 'http' : 'https')}://${authority}${target.path ?? '/'}`;
  const explain = { action: 'explain', command: `sluice explain ${target.method ?? 'GET'} ${url}` };
  const edit = { action: 'edit_policy', detail: 'add the rule below to the policy file Sluice runs with; a valid change applies at once' };
  if (decision.code === 'policy_denied' || target.method === undefined || target.method === 'CONNECT') {
    const yaml = `network_policies:\n  ${policyKey(target.host)}:\n    endpoints:\n      - { host: ${yamlString(target.host)}, port: ${target.port} }`;
    return {
      layer: 'l4',
      rule_missing: { type: 'endpoint', layer: 'l4', host: target.host, port: target.port },
      next_steps: [edit, explain],
      agent_guidance: `No network policy allows ${authority}. If this destination is needed, ask the operator to add it to the Sluice policy:\n${yaml}`,
    };
  }
  const method = target.method.toUpperCase();
  const path = target.path ?? '/';
  const ruleMissing = { type: 'rest_allow', layer: 'l7', method, path, host: target.host, port: target.port };
  if (/deny rule/.test(decision.reason) && decision.rule) {
    return {
      layer: 'l7',
      protocol: 'rest',
      rule_missing: ruleMissing,
      next_steps: [{ action: 'edit_policy', detail: `remove or narrow the deny rule ${decision.rule}` }, explain],
      agent_guidance: `${method} ${path} on ${authority} is forbidden by a deny rule (${decision.rule}) of network policy ${decision.policy ?? ''}; deny rules win over every allow. Do not retry; ask the operator if the request is needed.`,
    };
  }
  const yaml = `network_policies:\n  ${decision.policy ? yamlString(decision.policy) : policyKey(target.host)}:\n    endpoints:\n      - host: ${yamlString(target.host)}\n        port: ${target.port}\n        protocol: rest\n        rules:\n          - allow: { method: ${method}, path: ${yamlString(path)} }`;
  return {
    layer: 'l7',
    protocol: 'rest',
    rule_missing: ruleMissing,
    next_steps: [edit, explain],
    agent_guidance: `${method} ${path} on ${authority} is not allowed by the Sluice policy (${decision.reason}). If it is needed, ask the operator to add an allow rule to the endpoint:\n${yaml}`,
  };
}
