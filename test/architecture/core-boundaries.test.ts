import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The dependency rule of the house: src/domain imports only src/domain; src/application imports
 * only src/domain and src/application; neither imports a tool library or touches the clock,
 * timers, randomness or the process directly. Those come in through ports.
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

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

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
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2] ?? '';
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
      'const now = Date.now();',
      'const roll = Math.random();',
      'setTimeout(() => {}, 1);',
    ].join('\n');
    const found = violations('src/application/use-cases/planted.ts', planted, LAYERS[1]?.[1] ?? []);
    expect(found).toHaveLength(5);
  });
});
