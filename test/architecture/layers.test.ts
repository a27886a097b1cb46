// Skein's layer rules (data flows receivers → pipeline → store ← query ← api; the API is wired
// by the composition root), checked by reading every import under src/. Type-only imports count: they couple layers
// as much as any other. Each failure names the importing file and line, the imported path
// and the rule it breaks.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { importsOf, resolveRelative, sourceFiles } from './imports.js';

// dist/test/architecture → repository root; the sources are read, not the compiled output.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Edge {
  /** The importing file, e.g. `src/query/search/execute.ts`. */
  from: string;
  line: number;
  /** The imported file (repository path) or package specifier. */
  to: string;
  /** True when `to` is a package (npm or node:), false when it is one of Skein's files. */
  pkg: boolean;
}

interface Problem {
  from: string;
  line: number;
  specifier: string;
  problem: string;
}

function scan(): { edges: Edge[]; problems: Problem[] } {
  const edges: Edge[] = [];
  const problems: Problem[] = [];
  for (const from of sourceFiles(ROOT, 'src')) {
    for (const { specifier, line } of importsOf(readFileSync(`${ROOT}/${from}`, 'utf8'))) {
      if (specifier === '') {
        problems.push({ from, line, specifier, problem: 'an import whose specifier is not a string literal cannot be checked' });
      } else if (specifier.startsWith('.') || specifier.startsWith('/')) {
        const to = resolveRelative(ROOT, from, specifier);
        if (to === null) problems.push({ from, line, specifier, problem: 'does not resolve to a source file' });
        else edges.push({ from, line, to, pkg: false });
      } else {
        edges.push({ from, line, to: specifier, pkg: true });
      }
    }
  }
  return { edges, problems };
}

const { edges, problems } = scan();

/** `src/query/search/x.ts` → `query`; `src/skein.ts` → `skein.ts`; outside src: its top folder (`ui`, `sdk`). */
function layerOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] !== 'src') return parts[0]!;
  return parts[1]!;
}

interface Rule {
  /** `rule 5`, the short name each violation carries. */
  id: string;
  name: string;
  /** True when the edge breaks the rule. */
  breaks(e: Edge): boolean;
}

/** Files of layer `layer` may import Skein's files only from their own layer and `allowed` (packages are free). */
function onlyImports(n: number, layer: string, allowed: string[], extra: { allows: (to: string) => boolean; text: string } | null = null): Rule {
  const ok = new Set([layer, ...allowed]);
  const what = allowed.length === 0 ? `nothing of Skein's outside src/${layer}/` : `only ${allowed.join(', ')}`;
  return {
    id: `rule ${n}`,
    name: `rule ${n}: src/${layer}/** imports ${what}${extra ? `, ${extra.text}` : ''}`,
    breaks: (e) => !e.pkg && layerOf(e.from) === layer && !ok.has(layerOf(e.to)) && !(extra?.allows(e.to) ?? false),
  };
}

const RULES: Rule[] = [
  onlyImports(1, 'otlp', []),
  onlyImports(2, 'receivers', ['otlp', 'pipeline', 'auth', 'lib', 'config', 'telemetry', 'net', 'regex', 'version.ts']),
  onlyImports(3, 'pipeline', ['otlp', 'store', 'lib', 'config', 'telemetry', 'regex', 'net', 'version.ts']),
  onlyImports(4, 'store', ['otlp', 'lib', 'config', 'telemetry', 'regex']),
  onlyImports(5, 'query', ['otlp', 'lib', 'config', 'telemetry', 'regex'], {
    // The store's one seam for queries: Store and what Store.fetch takes and returns.
    allows: (to) => to === 'src/store/store.ts' || to.startsWith('src/store/fetch/'),
    text: 'and of the store only src/store/store.ts and src/store/fetch/**',
  }),
  onlyImports(6, 'api', ['query', 'store', 'pipeline', 'cluster', 'auth', 'otlp', 'lib', 'config', 'telemetry', 'net', 'regex', 'version.ts', 'ui']),
  {
    id: 'rule 7',
    name: 'rule 7: only src/cli/** and src/skein.ts (the composition root) import src/api/** or src/skein.ts',
    breaks: (e) => {
      if (e.pkg || (layerOf(e.to) !== 'api' && e.to !== 'src/skein.ts')) return false;
      const from = layerOf(e.from);
      return !(from === 'cli' || from === 'skein.ts' || (from === 'api' && layerOf(e.to) === 'api'));
    },
  },
  {
    id: 'rule 8',
    name: 'rule 8: only src/store/** imports DuckDB (@duckdb/node-api, @duckdb/node-bindings)',
    breaks: (e) => e.pkg && e.to.startsWith('@duckdb/') && layerOf(e.from) !== 'store',
  },
  onlyImports(9, 'lib', ['telemetry', 'regex']),
  // The pipeline and the store take the cluster's parts as injected interfaces; skein.ts composes.
  onlyImports(10, 'cluster', ['lib', 'config', 'telemetry', 'otlp', 'pipeline', 'store', 'net']),
  // Who may do what: credentials, principals and tenant checks, used by every listener.
  onlyImports(11, 'auth', ['lib', 'config', 'telemetry', 'net']),
];

function violations(rule: Rule): string[] {
  return edges.filter((e) => rule.breaks(e)).map((e) => `${e.from}:${e.line} imports ${e.to}, breaking ${rule.id}`);
}

describe('layer rules', () => {
  test('the scan reads the tree: every src file, every import resolved', () => {
    assert.ok(sourceFiles(ROOT, 'src').length > 100, 'found too few source files: is ROOT the repository root?');
    assert.ok(edges.some((e) => e.to === 'src/otlp/model.ts'), 'found no import of src/otlp/model.ts');
    const found = problems.map((p) => `${p.from}:${p.line} '${p.specifier}' ${p.problem}`);
    if (found.length > 0) assert.fail(`${found.length} import(s) cannot be checked:\n  ${found.join('\n  ')}`);
  });

  for (const rule of RULES) {
    test(rule.name, () => {
      const found = violations(rule);
      if (found.length > 0) assert.fail(`${found.length} import(s) break ${rule.name}:\n  ${found.join('\n  ')}`);
    });
  }
});

describe('the rules themselves', () => {
  // Made-up imports, so each rule is seen to refuse what it names and to let the rest through.
  const cases: Array<[from: string, to: string, broken: string[]]> = [
    ['src/otlp/model.ts', 'src/config/units.ts', ['rule 1']],
    ['src/otlp/zipkin.ts', 'src/otlp/zipkin/ip.ts', []],
    ['src/otlp/json.ts', 'pkg:protobufjs', []],
    ['src/receivers/ingest.ts', 'src/store/store.ts', ['rule 2']],
    ['src/receivers/ingest.ts', 'src/pipeline/build.ts', []],
    ['src/pipeline/build.ts', 'src/query/budget.ts', ['rule 3']],
    ['src/pipeline/exporters/store.ts', 'src/store/store.ts', []],
    ['src/store/store.ts', 'src/pipeline/consumer.ts', ['rule 4']],
    ['src/query/search/execute.ts', 'src/store/blocks/reader.ts', ['rule 5']],
    ['src/query/search/execute.ts', 'src/store/fetch/values.ts', []],
    ['src/query/search/execute.ts', 'src/store/store.ts', []],
    ['src/query/budget.ts', 'src/api/server.ts', ['rule 5', 'rule 7']],
    ['src/api/server.ts', 'src/cli/main.ts', ['rule 6']],
    ['src/api/server.ts', 'src/receivers/ingest.ts', ['rule 6']],
    ['src/api/server.ts', 'src/api/routes/search.ts', []],
    ['src/pipeline/build.ts', 'src/skein.ts', ['rule 3', 'rule 7']],
    ['src/cli/main.ts', 'src/skein.ts', []],
    ['src/cli/main.ts', 'src/api/server.ts', []],
    ['src/skein.ts', 'src/api/server.ts', []],
    ['src/config/schema.ts', 'src/api/params.ts', ['rule 7']],
    ['src/config/schema.ts', 'src/pipeline/config.ts', []],
    ['src/query/metrics/execute.ts', 'pkg:@duckdb/node-api', ['rule 8']],
    ['src/store/engine/duckdb.ts', 'pkg:@duckdb/node-api', []],
    ['src/query/metrics/execute.ts', 'pkg:@duckdb/node-bindings', ['rule 8']],
    ['src/store/engine/vectors.ts', 'pkg:@duckdb/node-bindings', []],
    ['src/lib/wal/wal.ts', 'src/config/units.ts', ['rule 9']],
    ['src/lib/wal/wal.ts', 'src/telemetry/metrics.ts', []],
    ['src/cluster/router.ts', 'src/pipeline/consumer.ts', []],
    ['src/cluster/router.ts', 'src/api/context.ts', ['rule 7', 'rule 10']],
    ['src/pipeline/build.ts', 'src/cluster/router.ts', ['rule 3']],
    ['src/store/store.ts', 'src/cluster/peer.ts', ['rule 4']],
    ['src/api/context.ts', 'src/cluster/peer.ts', []],
  ];
  for (const [from, to, broken] of cases) {
    test(`${from} importing ${to.replace(/^pkg:/, '')}: ${broken.length === 0 ? 'allowed' : broken.join(', ')}`, () => {
      const edge: Edge = { from, line: 1, to: to.replace(/^pkg:/, ''), pkg: to.startsWith('pkg:') };
      assert.deepEqual(RULES.filter((r) => r.breaks(edge)).map((r) => r.id), broken);
    });
  }
});

describe('the import scanner', () => {
  const specs = (src: string): string[] => importsOf(src).map((i) => i.specifier);

  test('reads every form of import and re-export, type-only ones included', () => {
    const src = [
      "import a from './a.js';",
      "import type { B } from '../b.js';",
      "import * as c from 'c';",
      "import d, { e as f } from \"./d.js\";",
      "import './side-effect.js';",
      "import {\n  g,\n  type H,\n} from './multi-line.js';",
      "export * from './star.js';",
      "export * as ns from './ns.js';",
      "export { x } from './named.js';",
      "export type { Y } from './type-named.js';",
      "const m = await import('./dynamic.js');",
      "type T = typeof import('./in-type.js');",
      "import fs = require('node:fs');",
    ].join('\n');
    assert.deepEqual(specs(src), [
      './a.js', '../b.js', 'c', './d.js', './side-effect.js', './multi-line.js', './star.js', './ns.js',
      './named.js', './type-named.js', './dynamic.js', './in-type.js', 'node:fs',
    ]);
  });

  test('ignores import-like text in comments, strings, templates and regular expressions', () => {
    const src = [
      "// import x from './line-comment.js';",
      "/* export * from './block-comment.js'; */",
      "const s = \"import y from './string.js'\";",
      "const t = `import z from './template.js' ${ `nested ${1}` } from './after.js'`;",
      "const r = /import w from '.\\/regex.js'/;",
      'const q = x.import;',
      'const meta = import.meta.url;',
      'export { local };',
      'export const from = 1;',
      "import real from './real.js';",
    ].join('\n');
    assert.deepEqual(specs(src), ['./real.js']);
  });

  test('a computed dynamic import is reported, not missed', () => {
    assert.deepEqual(importsOf('const m = await import(name);'), [{ specifier: '', line: 1 }]);
  });

  test('lines are those of the specifiers', () => {
    assert.deepEqual(importsOf("// header\n\nimport {\n  a,\n} from './a.js';\n").map((i) => i.line), [5]);
  });
});
