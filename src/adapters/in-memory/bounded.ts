/** Appends and drops the oldest entries beyond `capacity`, so a long run cannot grow memory. */
export function appendBounded<T>(entries: T[], entry: T, capacity: number): void {
  entries.push(entry);
  if (entries.length > capacity) entries.splice(0, entries.length - capacity);
}
