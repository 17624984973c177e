import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The dependency rules of the house: src/domain imports only src/domain; src/application imports
 * only src/domain and src/application; neither imports a tool library or touches the clock,
 * timers, randomness or the process directly — those come in through ports. An adapter folder
 * never imports another adapter folder (data leaves through ports, never through another door),
 * and the DI container (tsyringe) lives in the composition root alone.
 */
const root = resolve(import.meta.dirname, '../..');

const FORBIDDEN_CALLS: ReadonlyArray<[RegExp, string]> = [
  [/\bDate\.now\s*\(/, 'Date.now'],
  [/\bnew\s+Date\b/, 'new Date'],
  [/\bperformance\.now\b/, 'performance.now'],
  [/\bset(?:Timeout|Interval|Immediate)\s*\(/, 'timers'],
  [/\bMath\.random\s*\(/, 'Math.random'],
  [/\bcrypto\b/, 'crypto'],
  [/\bprocess\./, 'process'],
  [/\bconsole\./, 'console'],
];

/** `import … from 'x'`, `export … from 'x'`, `import 'x'` (a side effect) and `import('x')`. */
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every module a file imports, as written. */
function importsOf(text: string): string[] {
  return [...text.matchAll(IMPORT)].map((match) => match[1] ?? match[2] ?? match[3] ?? '');
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

/** Every rule the file breaks, as readable sentences. */
function violations(file: string, text: string, allowedDirs: readonly string[]): string[] {
  const found: string[] = [];
  for (const specifier of importsOf(text)) {
    if (!specifier.startsWith('.')) {
      found.push(`${file} imports the library "${specifier}"`);
      continue;
    }
    const target = relative(root, resolve(join(root, file, '..'), specifier));
    if (!allowedDirs.some((dir) => target.startsWith(`${dir}/`))) {
      found.push(`${file} imports ${target}, outside ${allowedDirs.join(' and ')}`);
    }
  }
  const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  for (const [pattern, name] of FORBIDDEN_CALLS) {
    if (pattern.test(code)) found.push(`${file} uses ${name} directly; take it through a port`);
  }
  return found;
}

const LAYERS: ReadonlyArray<[string, readonly string[]]> = [
  ['src/domain', ['src/domain']],
  ['src/application', ['src/domain', 'src/application']],
];

describe('the core', () => {
  for (const [layer, allowed] of LAYERS) {
    it(`${layer} depends only on ${allowed.join(' and ')} and never on the clock or randomness`, () => {
      const found = [...sourceFiles(join(root, layer))].flatMap((path) =>
        violations(relative(root, path), readFileSync(path, 'utf8'), allowed),
      );
      expect(found).toEqual([]);
    });
  }

  it('catches a core file that imports an adapter, a library or the clock', () => {
    const planted = [
      "import { Server } from 'socket.io';",
      "import { RedisPresenceStore } from '../../adapters/redis/redis-presence-store.js';",
      "import 'reflect-metadata';",
      'const now = Date.now();',
      'const roll = Math.random();',
      'setTimeout(() => {}, 1);',
    ].join('\n');
    const found = violations('src/application/use-cases/planted.ts', planted, LAYERS[1]?.[1] ?? []);
    expect(found).toHaveLength(6);
  });
});

/** The adapter folder a file belongs to (`redis`, `socket-io`, …), or null outside them. */
function adapterFolder(path: string): string | null {
  const match = /^src\/adapters\/([^/]+)\//.exec(path);
  return match?.[1] ?? null;
}

/**
 * Small helpers every adapter may use (option checks) live in src/adapters/support, which itself
 * belongs to no technology and imports no adapter.
 */
const SUPPORT = 'support';

/** Imports of one adapter folder from another; and files straight in src/adapters belong to none. */
function adapterCrossings(file: string, text: string): string[] {
  const own = adapterFolder(file);
  const found: string[] = [];
  if (own === null) return [`${file} sits in src/adapters outside any adapter folder`];
  for (const specifier of importsOf(text)) {
    if (!specifier.startsWith('.')) continue;
    const target = relative(root, resolve(join(root, file, '..'), specifier));
    if (!target.startsWith('src/adapters/')) continue;
    const folder = adapterFolder(target);
    if (folder === own || (folder === SUPPORT && own !== SUPPORT)) continue;
    found.push(`${file} imports ${target}, another adapter`);
  }
  return found;
}

/** Files outside the composition root that import the DI container. */
function containerImports(file: string, text: string): string[] {
  if (file === 'src/composition-root.ts') return [];
  return importsOf(text)
    .filter((specifier) => specifier === 'tsyringe' || specifier === 'reflect-metadata')
    .map((specifier) => `${file} imports ${specifier}; only src/composition-root.ts may`);
}

describe('the adapters', () => {
  it('never import one another: each folder talks to the others only through the ports', () => {
    const found = [...sourceFiles(join(root, 'src/adapters'))].flatMap((path) =>
      adapterCrossings(relative(root, path), readFileSync(path, 'utf8')),
    );
    expect(found).toEqual([]);
  });

  it('catches an adapter importing another, and a file that belongs to no folder', () => {
    const planted = "import { roomOf } from '../socket-io/rooms.js';";
    expect(adapterCrossings('src/adapters/in-memory/planted.ts', planted)).toHaveLength(1);
    expect(adapterCrossings('src/adapters/planted.ts', '')).toHaveLength(1);
    const support = "import { positiveInteger } from '../support/positive-integer.js';";
    expect(adapterCrossings('src/adapters/in-memory/planted.ts', support)).toEqual([]);
    expect(adapterCrossings('src/adapters/support/planted.ts', planted)).toHaveLength(1);
  });
});

describe('the DI container', () => {
  it('is imported by the composition root alone', () => {
    const found = ['src', 'sim', 'cli'].flatMap((dir) =>
      [...sourceFiles(join(root, dir))].flatMap((path) =>
        containerImports(relative(root, path), readFileSync(path, 'utf8')),
      ),
    );
    expect(found).toEqual([]);
  });

  it('catches a side-effect import of its metadata polyfill elsewhere', () => {
    expect(containerImports('src/runtime.ts', "import 'reflect-metadata';")).toHaveLength(1);
  });
});
