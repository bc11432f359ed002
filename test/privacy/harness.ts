import type { Test } from 'tap';
import type { LlmCallEvent } from '../../core/index.js';
import { createEventBus } from '../../core/index.js';
import type { InferenceInput, PrivacyRouter, RouterRedactor } from '../../privacy/index.js';
import { createPrivacyRouter, inferenceSchema } from '../../privacy/index.js';
import { startStageServer } from './stage-server.js';

/** A privacy router behind the test adapter, with its llm_call events collected. */
export interface RouterHarness {
  router: PrivacyRouter;
  url: string;
  calls: LlmCallEvent[];
}

export async function startRouter(t: Test, config: InferenceInput | undefined, opts: { host?: string; upstream?: string; credentials?: Record<string, Record<string, string>>; redactor?: RouterRedactor } = {}): Promise<RouterHarness> {
  const bus = createEventBus();
  const calls: LlmCallEvent[] = [];
  bus.on((e) => {
    if (e.type === 'llm_call') calls.push(e);
  });
  const creds = opts.credentials;
  const router = createPrivacyRouter({
    config: config === undefined ? undefined : inferenceSchema.parse(config),
    bus,
    healthIntervalMs: 0,
    ...(creds ? { credentials: { headersFor: (p: string) => creds[p] ?? {} } } : {}),
    ...(opts.redactor ? { redactor: opts.redactor } : {}),
  });
  const server = await startStageServer({ stage: router.stage, bus, host: opts.host ?? 'api.anthropic.com', ...(opts.upstream ? { upstream: opts.upstream } : {}) });
  t.teardown(async () => {
    await server.close();
    await router.close();
  });
  return { router, url: server.url, calls };
}

export const weather = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
};

export const weatherCall = { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } };

/** Waits until the audit event for a call has been emitted (streams report when they end). */
export async function nextCall(h: RouterHarness, n: number): Promise<LlmCallEvent> {
  for (let i = 0; i < 200 && h.calls.length < n; i++) await new Promise((r) => setTimeout(r, 5));
  return h.calls[n - 1]!;
}
