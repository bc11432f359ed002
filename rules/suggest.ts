import type { z } from 'zod';

/**
 * "Did you mean …?" for unknown keys: finds the object schema at a path of the parsed policy
 * and the known key closest to the misspelt one. Walks zod 4's public `_zod.def` tree.
 */
type PathKey = string | number;

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Unwraps optional/default/pipe wrappers and, for unions, takes the first object member. */
function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (let i = 0; current && i < 16; i++) {
    const def = defOf(current);
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'readonly') current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else if (def.type === 'union') current = def.options?.find((o) => defOf(unwrap(o) ?? o).type === 'object');
    else return current;
  }
  return current;
}

export function knownKeysAt(root: z.ZodType, path: readonly PathKey[]): string[] {
  let schema = unwrap(root);
  for (const key of path) {
    if (!schema) return [];
    const def = defOf(schema);
    if (def.type === 'object') schema = unwrap(def.shape?.[String(key)]);
    else if (def.type === 'record') schema = unwrap(def.valueType);
    else if (def.type === 'array') schema = unwrap(def.element);
    else return [];
  }
  if (!schema) return [];
  const def = defOf(schema);
  return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** The closest known key within a few edits (1 for short keys, up to 3 for long ones), if any. */
export function closestKey(unknown: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const normalized = unknown.toLowerCase().replaceAll('-', '_');
  for (const key of known) {
    const d = normalized === key ? 0 : distance(normalized, key);
    if (d < bestDistance) {
      best = key;
      bestDistance = d;
    }
  }
  const limit = unknown.length <= 3 ? 1 : Math.min(3, Math.max(2, Math.floor(unknown.length / 3)));
  return bestDistance <= limit ? best : undefined;
}
