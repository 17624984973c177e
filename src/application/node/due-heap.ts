/** One thing due at a moment, for one socket. */
export interface Due {
  readonly atMs: number;
  readonly sid: string;
}

/**
 * The earliest-first queue of a node's per-socket timers (token notices and expiries): one
 * Scheduler timer serves them all, armed for the head, so a socket costs an entry rather than a
 * timer of its own. Entries are never removed in place: one that no longer matters (the token was
 * refreshed, the socket left) is skipped when it comes up.
 */
export class DueHeap {
  private readonly items: Due[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Due | undefined {
    return this.items[0];
  }

  push(item: Due): void {
    const { items } = this;
    items.push(item);
    let at = items.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if ((items[parent] as Due).atMs <= item.atMs) break;
      items[at] = items[parent] as Due;
      at = parent;
    }
    items[at] = item;
  }

  pop(): Due | undefined {
    const { items } = this;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child =
        right < items.length && (items[right] as Due).atMs < (items[left] as Due).atMs
          ? right
          : left;
      if ((items[child] as Due).atMs >= last.atMs) break;
      items[at] = items[child] as Due;
      at = child;
    }
    items[at] = last;
    return top;
  }
}
