import { z } from 'zod';

/**
 * `inference:` section of the policy file (owned by privacy/).
 *
 * ```yaml
 * inference:
 *   backends:
 *     local: { type: ollama, url: http://127.0.0.1:11434 }          # native /api/chat
 *     nim:   { type: nim, url: http://10.0.0.5:8000, credential: nim, timeout_ms: 120000 }
 *   routes:                                                         # first match wins
 *     - { name: secrets-stay-home, match: { sensitive: true }, backend: local, model: "qwen3:8b" }
 *     - { match: { api: anthropic, model: "claude-*" }, backend: nim, model: "meta/llama-3.1-8b-instruct", fallback: local }
 *     - { match: { api: openai }, action: allow }                  # to the provider called, redacted
 *     - { match: { host: api.anthropic.com }, action: allow }      # every request to this host, redacted
 *     - { match: {}, action: deny, reason: "only Claude and OpenAI models are served here" }
 *   hosts: [llm.internal.example]                                  # extra hosts whose LLM paths are routed
 *   log_prompts: false                                             # true: redacted prompt text in the audit log
 * ```
 *
 * When the policy has no `inference:` section, every recognised LLM call goes to a local Ollama at
 * http://127.0.0.1:11434 with the requested model name unchanged: privacy first, nothing reaches a
 * hosted provider unless a route says `allow` or routes to an `openai`/`anthropic` backend.
 *
 * The virtual host `inference.local` is always an LLM host; it needs no DNS record and no network
 * policy entry, because the router answers it itself.
 *
 * On LLM hosts (api.openai.com, api.anthropic.com, `hosts`, every host a route's `match.host`
 * names, every backend's host and port) privacy fails closed: a request the router does not
 * recognise as a call is refused, in the provider's error shape, unless an `allow` route matches
 * it (then every string value of its JSON body is redacted) or a network-policy rule names that
 * exact method and path.
 */

/** Which wire shape an API speaks, used in `match.api`. */
export const apiFamilySchema = z.enum(['openai', 'anthropic', 'ollama', 'gemini']);
export type ApiFamily = z.infer<typeof apiFamilySchema>;

export const backendSchema = z.strictObject({
  /** ollama (native or its OpenAI/Anthropic endpoints), nim and openai-compatible (OpenAI shape), openai, anthropic (hosted). */
  type: z.enum(['ollama', 'nim', 'openai-compatible', 'openai', 'anthropic']),
  /** Base URL without the API path, e.g. http://127.0.0.1:11434 or https://api.openai.com. */
  url: z.url({ protocol: /^https?$/ }),
  /** Provider name (from `providers:`) whose credential Sluice injects; the client's own auth is dropped. */
  credential: z.string().min(1).optional(),
  /** Idle time allowed between response bytes (and before headers); a stalled stream ends with an error event. */
  timeout_ms: z.number().int().positive().optional(),
  connect_timeout_ms: z.number().int().positive().optional(),
  /** For ollama: which of its endpoints to speak. native = /api/chat (NDJSON), openai = /v1/chat/completions, anthropic = /v1/messages. */
  api: z.enum(['native', 'openai', 'anthropic']).optional(),
  /**
   * The most output tokens a call may ask of this backend: agents ask for 32k-64k, which a local
   * model may refuse or reserve memory for. A larger request is lowered to it; a smaller one kept.
   */
  max_output_tokens: z.number().int().positive().optional(),
});
export type BackendConfig = z.infer<typeof backendSchema>;

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

export const routeSchema = z.strictObject({
  name: z.string().min(1).optional(),
  match: z.strictObject({
    api: oneOrMany(apiFamilySchema).optional(),
    /** Glob on the requested model: `*` any run of characters, `?` one character. */
    model: oneOrMany(z.string().min(1)).optional(),
    /** Matches on the redaction engine's findings in the request (true: something sensitive was found). */
    sensitive: z.boolean().optional(),
    /** The host the agent called (exact names, lower case); such a host is an LLM host. */
    host: oneOrMany(z.string().min(1).regex(/^[A-Za-z0-9.-]+$/, 'a host name (letters, digits, . and -)')).optional(),
  }).default({}),
  /** route (default when `backend` is set): answer from a backend; allow: send to the original provider; deny. */
  action: z.enum(['route', 'allow', 'deny']).optional(),
  backend: z.string().min(1).optional(),
  /** The backend's model name; the requested model is kept when absent. */
  model: z.string().min(1).optional(),
  /** Tried when `backend` is unreachable before any byte reached the client. */
  fallback: z.string().min(1).optional(),
  /** Model for the fallback backend; defaults to `model`. */
  fallback_model: z.string().min(1).optional(),
  /** Shown to the agent on deny. */
  reason: z.string().min(1).optional(),
});
export type RouteConfig = z.infer<typeof routeSchema>;

export const inferenceSchema = z.strictObject({
  backends: z.record(z.string().min(1), backendSchema).default({}),
  routes: z.array(routeSchema).default([]),
  /**
   * More LLM hosts: their calls are routed and what the router does not recognise there is refused.
   * An entry with a `prefix` serves OpenAI's API under that path instead of /v1 (DashScope's
   * /compatible-mode/v1, OpenRouter's /api/v1): `prefix/chat/completions` is `/v1/chat/completions`.
   */
  hosts: z.array(z.union([z.string().min(1), z.strictObject({
    host: z.string().min(1),
    prefix: z.string().regex(/^(\/[^/?#]+)+$/, 'a path prefix: /segment[/segment…], no trailing slash, query or fragment'),
  })])).optional(),
  /**
   * Put the prompt text (message contents, after redaction, at most 8 KiB) in each llm_call audit
   * event. Off by default; with no `privacy` section there is no redaction, so nothing is logged.
   */
  log_prompts: z.boolean().optional(),
}).superRefine((cfg, ctx) => {
  cfg.routes.forEach((route, i) => {
    const action = route.action ?? (route.backend ? 'route' : undefined);
    if (action === undefined) {
      ctx.addIssue({ code: 'custom', path: ['routes', i], message: 'a route needs a backend or an action (allow or deny)' });
      return;
    }
    if (action === 'route' && !route.backend) {
      ctx.addIssue({ code: 'custom', path: ['routes', i, 'backend'], message: 'action route needs a backend' });
    }
    if (action !== 'route' && (route.backend || route.fallback || route.model)) {
      ctx.addIssue({ code: 'custom', path: ['routes', i, 'action'], message: `action ${action} takes no backend, model or fallback` });
    }
    for (const key of ['backend', 'fallback'] as const) {
      const name = route[key];
      if (name !== undefined && !Object.hasOwn(cfg.backends, name)) {
        const known = Object.keys(cfg.backends);
        ctx.addIssue({
          code: 'custom',
          path: ['routes', i, key],
          message: `unknown backend "${name}"${known.length ? ` (known: ${known.join(', ')})` : ' (no backends defined)'}`,
        });
      }
    }
  });
  for (const [name, backend] of Object.entries(cfg.backends)) {
    if (backend.api !== undefined && backend.type !== 'ollama') {
      ctx.addIssue({ code: 'custom', path: ['backends', name, 'api'], message: '`api` applies only to type ollama' });
    }
  }
});
export type InferenceConfig = z.infer<typeof inferenceSchema>;
/** What a policy author writes (defaults not yet applied). */
export type InferenceInput = z.input<typeof inferenceSchema>;
