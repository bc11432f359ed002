import type { Stalls } from '../stall-probe.js';
/** A measured value (median over rounds, with the rounds), or why there is none. */
export type Cell = { value: number; rounds?: number[]; detail?: string } | { na: string };

export interface MetricRow {
  id: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  cells: Record<string, Cell>;
}

export interface ScenarioResult {
  id: string;
  title: string;
  note?: string;
  rows: MetricRow[];
  /** Lane-specific extra data (e.g. the redaction lane's own report), kept in the JSON. */
  extra?: unknown;
  /** How late the machine let a bare process run while the lane ran (bench/stall-probe.ts). */
  stalls?: Stalls;
}

export interface GoalResult {
  id: string;
  label: string;
  /** Sluice's figure divided by the reference's (or Sluice's absolute figure), and the target. */
  value: number | null;
  target: number;
  comparison: '>=' | '<';
  unit: string;
  met: boolean | null;
  note?: string;
}

export interface BenchResults {
  version: 1;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string; platform: string; load1: number };
  options: { quick: boolean; only: string[]; peers: string[]; rounds: number };
  contenders: { name: string; status: 'ran' | 'unavailable'; reason?: string }[];
  scenarios: ScenarioResult[];
  goals: GoalResult[];
}

export function isValue(c: Cell | undefined): c is { value: number; rounds?: number[]; detail?: string } {
  return !!c && 'value' in c && Number.isFinite(c.value);
}

/**
 * Half the range of a cell's rounds (same unit as the value): how far one round may land from the
 * median, so two runs agree when their medians are within each other's spread. Undefined with
 * fewer than two finite rounds.
 */
export function spreadOf(c: Cell | undefined): number | undefined {
  if (!isValue(c) || !c.rounds) return undefined;
  const finite = c.rounds.filter((v) => Number.isFinite(v));
  if (finite.length < 2) return undefined;
  return (Math.max(...finite) - Math.min(...finite)) / 2;
}
