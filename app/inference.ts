import { makeDestination } from '../core/index.js';
import type { BuiltinProfileName } from '../credentials/index.js';
import { COPILOT_API_HOSTS, DEFAULT_INFERENCE, GITHUB_API_HOST, DEFAULT_LLM_HOSTS, VIRTUAL_HOST, configuredHosts, inferenceSchema } from '../privacy/index.js';
import type { ApiFamily, InferenceConfig } from '../privacy/index.js';
import type { CompiledPolicy, Policy } from '../rules/index.js';

/**
 * The inference configuration a policy means. With an `inference:` section, that section.
 * Without one, what an OpenShell policy means: a provider host its network policies allow is the
 * agent's to talk to (an `allow` route for that host: its calls go out, redacted when a `privacy`
 * section exists, with the credential when a provider is configured); calls to the other provider
 * hosts are answered by a local Ollama, as with no policy at all.
 */
export function effectiveInference(policy: Policy, compiled: CompiledPolicy): InferenceConfig | undefined {
  if (policy.inference) return policy.inference;
  // Copilot's API hosts are a wildcard family; its plan hosts are the ones a policy names.
  const allowed = [...DEFAULT_LLM_HOSTS, ...COPILOT_API_HOSTS].filter((host) => host !== VIRTUAL_HOST && compiled.decideConnect(makeDestination(host, 443)).action === 'allow');
  if (allowed.length === 0) return undefined;
  return inferenceSchema.parse({
    backends: DEFAULT_INFERENCE.backends,
    routes: [
      ...allowed.map((host) => ({ name: `network policy allows ${host}`, match: { host }, action: 'allow' })),
      ...DEFAULT_INFERENCE.routes,
    ],
  });
}

/** The built-in provider profiles that are LLM APIs: the API families they speak and their hosts. */
const LLM_PROFILES: Array<{ name: BuiltinProfileName; apis: ApiFamily[]; host: (h: string) => boolean; hosts: string[] }> = [
  { name: 'openai', apis: ['openai'], hosts: ['api.openai.com'], host: (h) => h === 'api.openai.com' },
  { name: 'anthropic', apis: ['anthropic'], hosts: ['api.anthropic.com'], host: (h) => h === 'api.anthropic.com' },
  { name: 'gemini', apis: ['gemini'], hosts: ['generativelanguage.googleapis.com'], host: (h) => h === 'generativelanguage.googleapis.com' },
  { name: 'nvidia', apis: ['openai'], hosts: ['integrate.api.nvidia.com'], host: (h) => h === 'integrate.api.nvidia.com' },
  // Copilot speaks OpenAI's and Anthropic's shapes on its own hosts; its session starts on api.github.com.
  { name: 'copilot', apis: ['openai', 'anthropic'], hosts: [...COPILOT_API_HOSTS], host: (h) => h === GITHUB_API_HOST || h.endsWith('.githubcopilot.com') },
];

/**
 * The built-in LLM profiles whose calls the routes answer from a backend (first match wins, as
 * in the router): a route that may match the profile's API and host and routes it counts; one
 * that matches all of them unconditionally (no model or sensitive condition) and lets them out
 * or denies them ends the search. An agent of such a provider gets its key variable as a
 * placeholder in the sandbox even with no `providers:` entry, since a local backend needs no key.
 */
export function routedProfiles(config: InferenceConfig | undefined): BuiltinProfileName[] {
  const routes = (config ?? DEFAULT_INFERENCE).routes ?? [];
  const out: BuiltinProfileName[] = [];
  for (const profile of LLM_PROFILES) {
    for (const route of routes) {
      const apis = route.match.api === undefined ? undefined : [route.match.api].flat();
      const hosts = route.match.host === undefined ? undefined : [route.match.host].flat().map((h) => h.toLowerCase());
      if (apis && !apis.some((a) => profile.apis.includes(a))) continue;
      if (hosts && !hosts.some(profile.host)) continue;
      const action = route.action ?? 'route';
      if (action === 'route') {
        out.push(profile.name);
        break;
      }
      const unconditional = route.match.model === undefined && route.match.sensitive === undefined
        && (!apis || profile.apis.every((a) => apis.includes(a))) && (!hosts || profile.hosts.every((h) => hosts.includes(h)));
      if (unconditional) break;
    }
  }
  return out;
}

/** What `setRouted` takes: the providers the routes answer, and the configured LLM hosts their placeholders are good for. */
export interface RoutedKeys {
  profiles: BuiltinProfileName[];
  hosts: string[];
}

/**
 * The routed providers' placeholders an effective inference config means, computed the same way
 * for everything that issues them: the pipeline (so `sluice run` and `sluice up` accept them) and
 * `sluice env` (so what it prints is what they accept).
 */
export function routedKeys(inference: InferenceConfig | undefined): RoutedKeys {
  return { profiles: routedProfiles(inference), hosts: configuredHosts(inference) };
}
