// The rule of the house for src/: imports point one way. Each top-level folder or root file of
// src/ is a part (http/app.ts, the app factory, is a part of its own: it composes routes as
// context.ts composes adapters); no two parts may import each other, directly or round a longer
// loop. Type-only imports count: they tie the code together as much as any other.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, resolve, sep } from 'node:path';
import { describe, test } from 'node:test';

const SRC = resolve(import.meta.dirname, '../../src');
/** Files that are parts of their own, inside a folder that is another part. */
const OWN_PARTS = new Set(['http/app']);
const SOURCE = /\.(m?[tj]sx?)$/;

/** Source files by their path relative to src/ (posix separators), with their text. */
function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (SOURCE.test(name) && !name.endsWith('.d.ts')) {
        files.set(relative(dir, path).split(sep).join('/'), readFileSync(path, 'utf8'));
      }
    }
  };
  walk(dir);
  return files;
}

/** Relative specifiers of static imports and re-exports (type-only too), side-effect and dynamic imports. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s*['"](\.{1,2}\/[^'"]+)['"]/g,
    /(?:^|[\s;])import\s*['"](\.{1,2}\/[^'"]+)['"]/g,
    /import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[1]!);
  return found;
}

function partOf(file: string): string {
  const bare = file.replace(SOURCE, '');
  return OWN_PARTS.has(bare) ? bare : bare.split('/')[0]!;
}

interface Edge {
  from: string;
  to: string;
  /** "src file -> imported file" lines behind the edge. */
  via: string[];
}

/** Imports between files, resolved to paths relative to the tree's root (outside ones dropped). */
function fileImports(files: Map<string, string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [file, text] of files) {
    const targets = specifiers(text)
      .map((s) => posix.normalize(posix.join(posix.dirname(file), s)))
      .filter((t) => !t.startsWith('..'));
    out.set(file, targets);
  }
  return out;
}

function partEdges(files: Map<string, string>): Map<string, Edge> {
  const edges = new Map<string, Edge>();
  for (const [file, targets] of fileImports(files)) {
    for (const target of targets) {
      const from = partOf(file);
      const to = partOf(target);
      if (from === to) continue;
      const key = `${from} -> ${to}`;
      const edge = edges.get(key) ?? { from, to, via: [] };
      edge.via.push(`${file} -> ${target}`);
      edges.set(key, edge);
    }
  }
  return edges;
}

/** Pairs of parts that import each other, each with the imports both ways. */
function mutualImports(files: Map<string, string>): string[] {
  const edges = partEdges(files);
  const found: string[] = [];
  for (const edge of edges.values()) {
    const back = edges.get(`${edge.to} -> ${edge.from}`);
    if (!back || edge.from > edge.to) continue;
    found.push(
      `${edge.from} <-> ${edge.to}:\n  ${[...edge.via.slice(0, 5), ...back.via.slice(0, 5)].join('\n  ')}`,
    );
  }
  return found;
}

/** Every loop of two or more parts (Tarjan's strongly connected components), as part lists. */
function partLoops(files: Map<string, string>): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of partEdges(files).values()) {
    next.set(from, [...(next.get(from) ?? []), to]);
    if (!next.has(to)) next.set(to, []);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) loops.push(component.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return loops;
}

/** Files reachable from `start` through relative imports. */
function closure(files: Map<string, string>, start: string): Set<string> {
  const imports = fileImports(files);
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    todo.push(...(imports.get(file) ?? []));
  }
  return seen;
}

describe('layering of src/', () => {
  const tree = readTree(SRC);

  test('the checker finds a pair that imports each other, and a longer loop', () => {
    const pair = new Map([
      ['serving/router.ts', "import type { ModelRegistry } from '../modules/models/registry.ts';"],
      ['modules/models/registry.ts', "import { keyOf } from '../../serving/runtime.ts';"],
    ]);
    assert.equal(mutualImports(pair).length, 1);
    assert.match(mutualImports(pair)[0]!, /modules <-> serving/);
    const loop = new Map([
      ['context.ts', "import { users } from './modules/users/service.ts';"],
      ['modules/users/routes.ts', "import { problem } from '../../http/problem.ts';"],
      ['http/plugin.ts', "export type { AppContext } from '../context.ts';"],
      ['http/app.ts', "import type { AppContext } from '../context.ts';\nimport './plugin.ts';"],
    ]);
    assert.deepEqual(mutualImports(loop), []);
    assert.deepEqual(partLoops(loop), [['context', 'http', 'modules']]);
    const sideEffect = new Map([
      ['infra/a.ts', "import '../modules/b.ts';"],
      ['modules/b.ts', "const m = await import('../infra/a.ts');"],
    ]);
    assert.equal(mutualImports(sideEffect).length, 1);
  });

  test('no two parts import each other', () => {
    assert.ok(tree.size > 100, `read only ${tree.size} files under ${SRC}`);
    const pairs = mutualImports(tree);
    assert.deepEqual(pairs, [], `parts that import each other:\n${pairs.join('\n')}`);
  });

  test('no longer loop runs through the parts either', () => {
    assert.deepEqual(partLoops(tree), []);
  });

  test('the classifier the engine loads does not reach into training code', () => {
    const reached = [...closure(tree, 'ml/classifier.ts')];
    assert.ok(reached.length > 3, reached.join(', '));
    assert.deepEqual(
      reached.filter((f) => f.startsWith('ml/train/')),
      [],
    );
  });

  test('HTTP only at the edge: the classify pipeline, ml, infra and db import nothing from http/', () => {
    const up = [...partEdges(tree).values()].filter(
      (e) => ['serving', 'ml', 'infra', 'db'].includes(e.from) && e.to.startsWith('http'),
    );
    assert.deepEqual(
      up.flatMap((e) => e.via),
      [],
    );
  });

  test('infra is a bottom layer: it imports no module, service or route', () => {
    const up = [...partEdges(tree).values()].filter(
      (e) =>
        e.from === 'infra' && !['config', 'db', 'logger', 'ml', 'observability'].includes(e.to),
    );
    assert.deepEqual(
      up.flatMap((e) => e.via),
      [],
    );
  });
});
