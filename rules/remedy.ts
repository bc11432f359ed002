import { endpointYaml, flowYaml, yamlScalar } from '../core/index.js';
import type { Destination, Remedy } from '../core/index.js';
import { ACCESS_PRESETS } from './request-matcher.js';
import type { AccessPreset } from './request-matcher.js';
import type { Endpoint } from './schema.js';
import { neverReachable } from './guidance.js';

/**
 * What to change so that a refused request passes, for each way the network policy refuses:
 * a host no endpoint names, a method or path no rule allows, a deny rule, an encoded slash.
 * The smallest change for that one request; `sluice policy suggest` aggregates many.
 */
export interface EndpointRef {
  /** The policy's key in network_policies. */
  key: string;
  /** Display name (its `name`, else the key). */
  policy: string;
  label: string;
  source: Endpoint;
}

/** A policy name for a new endpoint: the host itself where the policy-name grammar allows it. */
export function policyNameFor(host: string): string {
  const name = host.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128);
  return name || 'allowed';
}

/** The rules an access preset stands for; GET admits HEAD, so HEAD needs no rule of its own. */
export function presetRules(access: AccessPreset): Array<{ allow: { method: string; path: string } }> {
  return ACCESS_PRESETS[access].filter((m) => m !== 'HEAD').map((method) => ({ allow: { method, path: '/**' } }));
}

export function newEndpointRemedy(dest: Destination, request?: { method: string; path: string }): Remedy {
  if (neverReachable(dest.host)) {
    return { summary: `${dest.authority} is a loopback, link-local (cloud metadata) or unspecified destination, which Sluice never opens whatever the policy says`, yaml: '', advice: true };
  }
  const endpoint: Record<string, unknown> = { host: dest.host, port: dest.port };
  if (request) Object.assign(endpoint, { protocol: 'rest', rules: [{ allow: { method: request.method, path: request.path } }] });
  const name = policyNameFor(dest.host);
  return {
    summary: `add the endpoint ${flowYaml(endpoint)} to a network policy`,
    yaml: ['network_policies:', `  ${yamlScalar(name)}:`, '    endpoints:', `      - ${flowYaml(endpoint)}`].join('\n'),
  };
}

/** A policy that names the destination only for other programs: add this one's executable. */
export function binariesRemedy(ref: { key: string; policy: string }, exe: string | undefined): Remedy {
  if (exe === undefined) {
    return { summary: `network policy ${ref.policy} allows it only for the programs its binaries list, and Sluice could not tell which program made the connection`, yaml: '', advice: true };
  }
  return {
    summary: `add ${exe} to the binaries of network policy ${ref.policy}`,
    yaml: ['network_policies:', `  ${yamlScalar(ref.key)}:`, '    binaries:   # add to the list', `      - ${flowYaml({ path: exe })}`].join('\n'),
  };
}

export function ruleRemedy(ep: EndpointRef, method: string, path: string): Remedy {
  const rule = { method, path };
  const where = `endpoint ${ep.label} of network policy ${ep.policy}`;
  const access = ep.source.access;
  if (access !== undefined) {
    const rules = [...presetRules(access), { allow: rule }];
    return {
      summary: `on ${where}, replace access: ${access} with the rules it stands for plus - allow: ${flowYaml(rule)}`,
      yaml: endpointYaml(ep.key, ep.source.host, `the endpoint that refused it (${ep.label}); remove access: ${access}`, ['rules:', ...rules.map((r) => `  - allow: ${flowYaml(r.allow)}`)]),
    };
  }
  return {
    summary: `add - allow: ${flowYaml(rule)} to the rules of ${where}`,
    yaml: endpointYaml(ep.key, ep.source.host, `the endpoint that refused it (${ep.label})`, ['rules:', '  # … the rules already there, then:', `  - allow: ${flowYaml(rule)}`]),
  };
}

export function denyRuleRemedy(ep: EndpointRef, denyLabel: string): Remedy {
  return {
    summary: `the deny rule ${denyLabel} of endpoint ${ep.label} (network policy ${ep.policy}) refuses this on purpose; only removing or narrowing that rule allows it`,
    yaml: endpointYaml(ep.key, ep.source.host, `the endpoint whose deny rule refused it (${ep.label})`, ['deny_rules:', `  # remove or narrow: ${denyLabel}`]),
  };
}

export function encodedSlashRemedy(ep: EndpointRef): Remedy {
  return {
    summary: `set allow_encoded_slash: true on endpoint ${ep.label} of network policy ${ep.policy} (the path holds %2F inside a segment)`,
    yaml: endpointYaml(ep.key, ep.source.host, `the endpoint that refused it (${ep.label})`, ['allow_encoded_slash: true']),
  };
}

/** No L7 endpoint's `path` selects the request: an endpoint of its own for that path. */
export function endpointPathRemedy(ep: EndpointRef, dest: Destination, method: string, path: string): Remedy {
  const endpoint = { host: ep.source.host, port: dest.port, path, protocol: 'rest', rules: [{ allow: { method, path } }] };
  return {
    summary: `no endpoint's path selects ${path}: add the endpoint ${flowYaml(endpoint)} to network policy ${ep.policy}, or widen the path of endpoint ${ep.label}`,
    yaml: ['network_policies:', `  ${yamlScalar(ep.key)}:`, '    endpoints:', '      # … the endpoints already there, then:', `      - ${flowYaml(endpoint)}`].join('\n'),
  };
}

/** An OpenShell middleware Sluice cannot run refuses the host (`on_error: fail_closed`). */
export function middlewareRemedy(name: string, host: string): Remedy {
  return {
    summary: `network_middlewares.${name} cannot run in Sluice and fails closed: remove ${host} from its selection, or set on_error: fail_open there to skip it`,
    yaml: ['network_middlewares:', `  ${yamlScalar(name)}:`, '    on_error: fail_open   # or remove the host from its selection'].join('\n'),
  };
}
