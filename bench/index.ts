export { parseBenchArgs, SCENARIO_IDS, FULL_SCALE, QUICK_SCALE } from './options.js';
export type { BenchOptions, BenchScale, ScenarioId } from './options.js';
export { runBench } from './run-bench.js';
export type { BenchRun } from './run-bench.js';
export type { BenchResults, ScenarioResult, MetricRow, Cell, GoalResult } from './report/model.js';
export { renderTable } from './report/table.js';
export { renderChart } from './report/chart.js';
