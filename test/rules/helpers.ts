import { parseAuthority } from '../../core/index.js';
import type { Destination } from '../../core/index.js';
import { compilePolicy, formatPolicyError, parsePolicy } from '../../rules/index.js';
import type { CompiledPolicy } from '../../rules/index.js';

/** Parses and compiles YAML; throws with every formatted error when the policy is invalid. */
export function compileYaml(yaml: string): CompiledPolicy {
  const { policy, errors } = parsePolicy(yaml, 'test.yaml');
  if (!policy) throw new Error(`policy invalid:\n${errors.map(formatPolicyError).join('\n')}`);
  return compilePolicy(policy);
}

export function dest(authority: string): Destination {
  return parseAuthority(authority);
}

/** `METHOD https://host/path?query` → decideRequest, so tests read like requests. */
export function request(compiled: CompiledPolicy, method: string, url: string) {
  const u = /^(https?):\/\/([^/?#]+)([^?#]*)(?:\?(.*))?$/.exec(url);
  if (!u) throw new Error(`bad test url ${url}`);
  const d = parseAuthority(u[2]!, u[1] === 'https' ? 443 : 80);
  return compiled.decideRequest(d, method, u[3] || '/', u[4] ?? '');
}
