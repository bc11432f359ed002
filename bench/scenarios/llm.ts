import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../fork-child.js';
import type { ScenarioResult } from '../report/model.js';
import type { ScenarioContext } from './context.js';

/**
 * LLM lanes (issue 3): time to first token and total, passthrough and Anthropic→Ollama
 * translated, against the fake backends from test/fakes. Until the fakes and the router exist
 * the lane reports why it cannot run.
 */
export async function llmLane(ctx: ScenarioContext): Promise<ScenarioResult> {
  const title = 'LLM lanes (TTFT and total; passthrough, Anthropic→Ollama translated)';
  const fakes = ['test/fakes/index.ts', 'dist/test/fakes/index.js'].some((p) => existsSync(join(repoRoot(), p)));
  const router = existsSync(join(repoRoot(), 'privacy/index.ts'));
  const reason = !fakes
    ? 'n/a (test/fakes/index.ts, the fake LLM backends, not written yet)'
    : !router
      ? 'n/a (privacy/index.ts, the router, not written yet)'
      : 'n/a (lane not wired to the fakes yet)';
  ctx.log(`  llm: ${reason}`);
  const cells = { sluice: { na: reason } };
  return {
    id: 'llm',
    title,
    note: 'goal: < 1 ms added to TTFT at p50, < 2 ms at p99, c=1',
    rows: ['passthrough TTFT added p50', 'passthrough TTFT added p99', 'translated TTFT added p50', 'translated TTFT added p99'].map((label, i) => ({
      id: `llm.${i}`, label, unit: 'ms', better: 'lower' as const, cells,
    })),
  };
}
