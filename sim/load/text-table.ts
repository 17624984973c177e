/** Rows of cells as aligned text: the first column left-aligned, the others right-aligned. */
export function textTable(
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
  indent = '  ',
): string {
  const cells = rows.map((row) => row.map(String));
  const widths: number[] = [];
  for (const row of cells) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return cells
    .map(
      (row) =>
        indent +
        row
          .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

/** `{ seat_taken: 3, unavailable: 1 }` → `seat_taken 3, unavailable 1`; `none` when empty. */
export function countsText(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts).filter(([, count]) => count > 0);
  return entries.length === 0
    ? 'none'
    : entries.map(([name, count]) => `${name} ${count}`).join(', ');
}

/** `1 manager`, `2 managers`: a count and its noun, plural unless the count is one. */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : plural}`;
}
