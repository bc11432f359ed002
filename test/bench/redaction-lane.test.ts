import t from 'tap';
import { parseBenchArgs } from '../../bench/options.js';
import type { ScenarioContext } from '../../bench/scenarios/context.js';
import { redactionLane } from '../../bench/scenarios/lanes.js';

// The redaction lane runs bench/redaction.ts in a process of its own and reads the JSON it prints: both
// engines on both workloads must come back as numbers, with the goals' rows where the goals look for them.
t.test('the redaction lane measures both engines in a child process', async (t) => {
  const lines: string[] = [];
  const ctx = { options: parseBenchArgs(['--quick', '--only', 'redaction']), log: (l: string) => lines.push(l) } as unknown as ScenarioContext;
  const result = await redactionLane(ctx);
  const byId = new Map(result.rows.map((r) => [r.id, r]));
  for (const id of ['redaction.mbps', 'redaction.p50', 'redaction.p99', 'redaction.typical.mbps', 'redaction.typical.p99', 'redaction.conversation.mbps', 'redaction.recall.email']) {
    const row = byId.get(id);
    t.ok(row, `${id} is reported`);
    for (const engine of ['sluice', 'redact-pii']) {
      const cell = row?.cells[engine];
      t.ok(cell && 'value' in cell && Number.isFinite(cell.value) && cell.value > 0, `${id}: ${engine} has a figure`);
    }
  }
  const recall = byId.get('redaction.recall.email')!.cells.sluice!;
  t.ok('value' in recall && recall.value >= 0.95, 'email recall is above its floor');
  t.match(lines.join('\n'), /redaction: sluice [\d.]+ MB\/s/);
});
