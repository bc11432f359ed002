import { isValue, type GoalResult, type ScenarioResult } from './model.js';

function cell(scenarios: ScenarioResult[], rowId: string, contender: string): number | undefined {
  for (const s of scenarios) {
    const r = s.rows.find((x) => x.id === rowId);
    const c = r?.cells[contender];
    if (r) return isValue(c) ? c.value : undefined;
  }
  return undefined;
}

function why(scenarios: ScenarioResult[], rowId: string, contender: string): string | undefined {
  for (const s of scenarios) {
    const c = s.rows.find((x) => x.id === rowId)?.cells[contender];
    if (c && 'na' in c) return `${contender}: ${c.na}`;
  }
  return undefined;
}

interface GoalSpec {
  id: string;
  label: string;
  row: string;
  /** Divide Sluice's figure by this contender's; absent means Sluice's absolute figure. */
  versus?: string;
  /** The column holding Sluice's figure, when it is not `sluice` (e.g. a sandbox driver). */
  column?: string;
  comparison: '>=' | '<';
  target: number;
  unit: string;
}

/** The headline goals of issues 2, 3 and 7, computed from the measured rows. */
export const GOALS: readonly GoalSpec[] = [
  { id: 'intercept_vs_mitmproxy', label: 'intercepted keep-alive req/s at c=16, Sluice ÷ mitmproxy', row: 'intercept.rps.c16', versus: 'mitmproxy', comparison: '>=', target: 10, unit: '×' },
  { id: 'intercept_vs_mockttp', label: 'intercepted keep-alive req/s at c=16, Sluice ÷ mockttp', row: 'intercept.rps.c16', versus: 'mockttp', comparison: '>=', target: 2, unit: '×' },
  { id: 'tunnel_vs_squid', label: 'tunnel throughput (MB/s), Sluice ÷ squid', row: 'tunnel.download_mbps', versus: 'squid', comparison: '>=', target: 0.9, unit: '×' },
  { id: 'tunnel_rps_vs_squid', label: 'tunnel keep-alive req/s at c=16, Sluice ÷ squid', row: 'tunnel.rps.c16', versus: 'squid', comparison: '>=', target: 0.9, unit: '×' },
  { id: 'added_p99_c1', label: 'intercepted keep-alive added p99 at c=1', row: 'intercept.added_p99.c1', comparison: '<', target: 1, unit: 'ms' },
  { id: 'new_host_added_p99', label: 'new host added p99', row: 'new-host.added_p99', comparison: '<', target: 5, unit: 'ms' },
  { id: 'memory_per_tunnel', label: 'memory per idle tunnel', row: 'memory.per_tunnel', comparison: '<', target: 64, unit: 'KB' },
  { id: 'llm_passthrough_ttft_p50', label: 'LLM passthrough added TTFT p50', row: 'llm.passthrough.added_ttft_p50', comparison: '<', target: 1, unit: 'ms' },
  { id: 'llm_passthrough_ttft_p99', label: 'LLM passthrough added TTFT p99', row: 'llm.passthrough.added_ttft_p99', comparison: '<', target: 2, unit: 'ms' },
  { id: 'llm_router_over_intercepted_p50', label: 'LLM router over an intercepted request, added TTFT p50', row: 'llm.router_over_intercepted_p50', comparison: '<', target: 0.3, unit: 'ms' },
  { id: 'llm_translated_ttft_p50', label: 'LLM Anthropic→Ollama added TTFT p50', row: 'llm.translated.added_ttft_p50', comparison: '<', target: 1, unit: 'ms' },
  { id: 'llm_translated_ttft_p99', label: 'LLM Anthropic→Ollama added TTFT p99', row: 'llm.translated.added_ttft_p99', comparison: '<', target: 2, unit: 'ms' },
  { id: 'llm_responses_sse_ttft_p50', label: 'LLM Responses SSE→Ollama added TTFT p50', row: 'llm.responses_sse.added_ttft_p50', comparison: '<', target: 1, unit: 'ms' },
  { id: 'llm_responses_sse_ttft_p99', label: 'LLM Responses SSE→Ollama added TTFT p99', row: 'llm.responses_sse.added_ttft_p99', comparison: '<', target: 2, unit: 'ms' },
  { id: 'llm_responses_ws_ttft_p50', label: 'LLM Responses WebSocket→Ollama added TTFT p50', row: 'llm.responses_ws.added_ttft_p50', comparison: '<', target: 1, unit: 'ms' },
  { id: 'llm_responses_ws_ttft_p99', label: 'LLM Responses WebSocket→Ollama added TTFT p99', row: 'llm.responses_ws.added_ttft_p99', comparison: '<', target: 2, unit: 'ms' },
  { id: 'llm_gemini_stream_ttft_p50', label: 'LLM Gemini stream→Ollama added TTFT p50', row: 'llm.gemini_stream.added_ttft_p50', comparison: '<', target: 1, unit: 'ms' },
  { id: 'llm_gemini_stream_ttft_p99', label: 'LLM Gemini stream→Ollama added TTFT p99', row: 'llm.gemini_stream.added_ttft_p99', comparison: '<', target: 2, unit: 'ms' },
  { id: 'llm_vs_portkey_passthrough_p50', label: 'LLM passthrough added TTFT p50, Sluice ÷ Portkey', row: 'llm-peers.passthrough.vs_portkey_p50', comparison: '<', target: 0.5, unit: '×' },
  { id: 'llm_vs_portkey_passthrough_p99', label: 'LLM passthrough added TTFT p99, Sluice ÷ Portkey', row: 'llm-peers.passthrough.vs_portkey_p99', comparison: '<', target: 0.5, unit: '×' },
  { id: 'llm_vs_portkey_translated_p50', label: 'LLM OpenAI→Anthropic added TTFT p50, Sluice ÷ Portkey', row: 'llm-peers.translated.vs_portkey_p50', comparison: '<', target: 0.5, unit: '×' },
  { id: 'llm_vs_portkey_translated_p99', label: 'LLM OpenAI→Anthropic added TTFT p99, Sluice ÷ Portkey', row: 'llm-peers.translated.vs_portkey_p99', comparison: '<', target: 0.5, unit: '×' },
  { id: 'agents_background_p99', label: 'background added p99 under 16 agents ÷ idle', row: 'agents.background_p99_ratio', comparison: '<', target: 2, unit: '×' },
  { id: 'agents_ttft_p99', label: 'agents added TTFT p99 at the largest context with ≥ 100 turns', row: 'agents.added_ttft_p99.last', comparison: '<', target: 10, unit: 'ms' },
  { id: 'redaction_mbps', label: 'redaction throughput', row: 'redaction.mbps', comparison: '>=', target: 50, unit: 'MB/s' },
  { id: 'redaction_vs_redact_pii', label: 'redaction throughput, Sluice ÷ redact-pii', row: 'redaction.mbps', versus: 'redact-pii', comparison: '>=', target: 10, unit: '×' },
  { id: 'redaction_p99', label: 'redaction p99 per 10 KB prompt', row: 'redaction.p99', comparison: '<', target: 1, unit: 'ms' },
  { id: 'sandbox_bwrap', label: 'sandbox start-up, bwrap (median)', row: 'sandbox.startup_p50', column: 'bwrap', comparison: '<', target: 300, unit: 'ms' },
  { id: 'sandbox_docker', label: 'sandbox start-up, docker (median)', row: 'sandbox.startup_p50', column: 'docker', comparison: '<', target: 1000, unit: 'ms' },
  { id: 'gateway_run_bwrap', label: '`sluice run -- true` with a gateway, bwrap (median)', row: 'gateway.run_p50', column: 'bwrap', comparison: '<', target: 300, unit: 'ms' },
  { id: 'gateway_run_docker', label: '`sluice run -- true` with a gateway, docker (median)', row: 'gateway.run_p50', column: 'docker', comparison: '<', target: 1000, unit: 'ms' },
];

export function computeGoals(scenarios: ScenarioResult[]): GoalResult[] {
  return GOALS.map((g) => {
    const col = g.column ?? 'sluice';
    const mine = cell(scenarios, g.row, col);
    const ref = g.versus ? cell(scenarios, g.row, g.versus) : 1;
    const value = mine !== undefined && ref !== undefined && ref !== 0 ? mine / ref : null;
    const note = value === null ? (why(scenarios, g.row, col) ?? (g.versus ? why(scenarios, g.row, g.versus) : undefined) ?? 'not measured in this run') : undefined;
    const met = value === null ? null : g.comparison === '>=' ? value >= g.target : value < g.target;
    return { id: g.id, label: g.label, value, target: g.target, comparison: g.comparison, unit: g.unit, met, ...(note ? { note } : {}) };
  });
}
