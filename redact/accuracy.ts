/** Precision/recall of detected spans against a labeled corpus (used by the tests and the bench). */

export interface LabeledSpan {
  readonly type: string;
  readonly start: number;
  readonly end: number;
}

export interface TypeScore {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
}

const overlaps = (a: LabeledSpan, b: LabeledSpan) => a.start < b.end && b.start < a.end;

/**
 * A prediction is a true positive when it overlaps a gold span of the same type; a gold span is recalled
 * when some prediction of its type overlaps it. Types outside `types` are ignored on both sides.
 */
export class AccuracyTally {
  private readonly counts = new Map<string, { tp: number; fp: number; fn: number }>();

  constructor(private readonly types?: ReadonlySet<string>) {}

  add(gold: readonly LabeledSpan[], predicted: readonly LabeledSpan[]): void {
    const keep = (s: LabeledSpan) => this.types === undefined || this.types.has(s.type);
    const g = gold.filter(keep);
    const p = predicted.filter(keep);
    for (const s of p) this.bump(s.type, g.some((x) => x.type === s.type && overlaps(x, s)) ? 'tp' : 'fp');
    for (const s of g) if (!p.some((x) => x.type === s.type && overlaps(x, s))) this.bump(s.type, 'fn');
  }

  private bump(type: string, k: 'tp' | 'fp' | 'fn'): void {
    let c = this.counts.get(type);
    if (c === undefined) this.counts.set(type, (c = { tp: 0, fp: 0, fn: 0 }));
    c[k]++;
  }

  /** Per type; a type with no predictions has precision 1, with no gold spans recall 1. */
  scores(): Record<string, TypeScore> {
    const out: Record<string, TypeScore> = {};
    for (const [type, c] of [...this.counts].sort(([a], [b]) => a.localeCompare(b))) {
      out[type] = {
        ...c,
        precision: c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp),
        recall: c.tp + c.fn === 0 ? 1 : c.tp / (c.tp + c.fn),
      };
    }
    return out;
  }
}
