import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_ERROR_CODES, HANDSHAKE_ERROR_CODES } from '../../src/domain/errors.js';

const PROTOCOL = readFileSync(resolve(import.meta.dirname, '../../docs/protocol.md'), 'utf8');

/** The codes in the first column of the table under `### {heading}`, in document order. */
function codesUnder(markdown: string, heading: string): string[] {
  const title = `\n### ${heading}\n`;
  const start = markdown.indexOf(title);
  if (start < 0) throw new Error(`docs/protocol.md has no "### ${heading}" section`);
  const rest = markdown.slice(start + title.length);
  const end = rest.search(/\n#{1,3} /);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((match) => match[1] ?? '');
}

/** What one list has that the other lacks, as sentences, so a failure says what to fix. */
function disagreements(documented: string[], declared: readonly string[], list: string): string[] {
  return [
    ...declared
      .filter((code) => !documented.includes(code))
      .map((code) => `${code} is in src/domain/errors.ts but not in docs "${list}"`),
    ...documented
      .filter((code) => !declared.includes(code))
      .map((code) => `${code} is in docs "${list}" but not in src/domain/errors.ts`),
    ...documented
      .filter((code, index) => documented.indexOf(code) !== index)
      .map((code) => `${code} is listed twice in docs "${list}"`),
  ];
}

const LISTS = [
  ['Event error codes', EVENT_ERROR_CODES],
  ['Handshake refusal codes', HANDSHAKE_ERROR_CODES],
] as const;

describe('docs/protocol.md', () => {
  it.each(LISTS)('lists exactly the %s of src/domain/errors.ts', (heading, declared) => {
    expect(disagreements(codesUnder(PROTOCOL, heading), declared, heading)).toEqual([]);
  });

  it('would catch a code missing from the document, an extra one and a repeated one', () => {
    const edited = PROTOCOL.replace(/^\| `seat_taken` \|.*\n/m, '').replace(
      /^(\| `internal` \|.*\n)/m,
      '$1| `teapot` | never |\n| `internal` | again |\n',
    );
    expect(disagreements(codesUnder(edited, LISTS[0][0]), LISTS[0][1], LISTS[0][0])).toEqual([
      'seat_taken is in src/domain/errors.ts but not in docs "Event error codes"',
      'teapot is in docs "Event error codes" but not in src/domain/errors.ts',
      'internal is listed twice in docs "Event error codes"',
    ]);
  });
});
