import { makeDestination } from '../core/index.js';
import { COPILOT_API_HOSTS, DEFAULT_INFERENCE, DEFAULT_LLM_HOSTS, VIRTUAL_HOST, inferenceSchema } from '../privacy/index.js';
import type { InferenceConfig } from '../privacy/index.js';
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
