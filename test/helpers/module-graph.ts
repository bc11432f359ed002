import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The import graph between Sluice's top-level modules (core/, proxy/, rules/ …), read from the
 * sources with TypeScript's own pre-processor (static and dynamic imports, `export … from`).
 * DESIGN.md's rules: a module imports another only through its index.ts, and the graph between
 * modules has no cycle.
 */
export interface ModuleImport {
  from: string;
  /** The importing file, relative to the repository root. */
  file: string;
  to: string;
  /** The imported file, relative to the repository root. */
  target: string;
}

export function listSources(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(path.join(root, d), { withFileTypes: true })) {
      const rel = path.posix.join(d, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'results') walk(rel);
      } else if (/\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        out.push(rel);
      }
    }
  };
  walk(dir);
  return out;
}

/** Cross-module imports of the given modules' sources (imports inside one module are not listed). */
export function crossModuleImports(root: string, modules: readonly string[]): ModuleImport[] {
  const out: ModuleImport[] = [];
  for (const mod of modules) {
    for (const file of listSources(root, mod)) {
      const info = ts.preProcessFile(fs.readFileSync(path.join(root, file), 'utf8'), true, true);
      for (const { fileName } of info.importedFiles) {
        if (!fileName.startsWith('.')) continue;
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), fileName)).replace(/\.js$/, '.ts');
        const to = target.split('/')[0]!;
        if (to !== mod) out.push({ from: mod, file, to, target });
      }
    }
  }
  return out;
}

/** Imports that reach past another module's index.ts. */
export function deepImports(imports: readonly ModuleImport[]): ModuleImport[] {
  return imports.filter((i) => i.target !== `${i.to}/index.ts`);
}

export function moduleGraph(imports: readonly ModuleImport[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const i of imports) {
    if (!graph.has(i.from)) graph.set(i.from, new Set());
    graph.get(i.from)!.add(i.to);
  }
  return graph;
}

/** One cycle of the graph as [a, b, …, a], or undefined when it is acyclic. */
export function findCycle(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}
