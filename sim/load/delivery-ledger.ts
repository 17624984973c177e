/** Lost, duplicated and unexpected server events, in total and by event name. */
export interface DeliveryCounts {
  readonly expected: number;
  readonly received: number;
  /** Expected but never received. */
  readonly lost: number;
  /** Received more often than expected. */
  readonly duplicated: number;
  /** Received although nothing of the kind was expected. */
  readonly unexpected: number;
}

export interface DeliveryReport extends DeliveryCounts {
  readonly byEvent: Readonly<Record<string, DeliveryCounts>>;
}

interface Tally {
  expected: number;
  received: number;
}

/**
 * Which server events each logical client (a user, across its reconnects) should receive, and which
 * it did. An event is identified by its name and its payload, so two `teacher_connect` of the same
 * teacher are two of the same event and a renamed student's `set_student_name` is a new one.
 * Expectations and receipts may come in any order: a teacher often hears of a seat claim before the
 * student's acknowledgement tells the driver to expect it.
 */
export class DeliveryLedger {
  private readonly tallies = new Map<string, Map<string, Tally>>();
  /** Per client, how many expected events have not arrived yet. */
  private readonly outstanding = new Map<string, number>();
  private readonly waiters = new Set<() => void>();

  expect(client: string, event: string, payload: unknown): void {
    const tally = this.tally(client, event, payload);
    if (tally.expected >= tally.received) this.adjust(client, 1);
    tally.expected += 1;
  }

  receive(client: string, event: string, payload: unknown): void {
    const tally = this.tally(client, event, payload);
    if (tally.expected > tally.received) this.adjust(client, -1);
    tally.received += 1;
  }

  /**
   * Resolves true once every event expected by `clients` has arrived, false if `timeoutMs` passes
   * first (the missing ones then count as lost in the report).
   */
  settled(clients: readonly string[], timeoutMs: number): Promise<boolean> {
    const done = () => clients.every((client) => (this.outstanding.get(client) ?? 0) === 0);
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        finish(true);
      };
      const finish = (result: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(result);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.waiters.add(check);
    });
  }

  report(): DeliveryReport {
    const byEvent: Record<string, DeliveryCounts> = {};
    let total = emptyCounts();
    for (const perClient of this.tallies.values()) {
      for (const [key, { expected, received }] of perClient) {
        const event = key.slice(0, key.indexOf(' '));
        const counts: DeliveryCounts = {
          expected,
          received,
          lost: Math.max(0, expected - received),
          duplicated: expected > 0 ? Math.max(0, received - expected) : 0,
          unexpected: expected > 0 ? 0 : received,
        };
        byEvent[event] = addCounts(byEvent[event] ?? emptyCounts(), counts);
        total = addCounts(total, counts);
      }
    }
    return { ...total, byEvent };
  }

  private tally(client: string, event: string, payload: unknown): Tally {
    let perClient = this.tallies.get(client);
    if (perClient === undefined) {
      perClient = new Map();
      this.tallies.set(client, perClient);
    }
    const key = `${event} ${canonicalJson(payload)}`;
    let tally = perClient.get(key);
    if (tally === undefined) {
      tally = { expected: 0, received: 0 };
      perClient.set(key, tally);
    }
    return tally;
  }

  private adjust(client: string, by: number): void {
    this.outstanding.set(client, (this.outstanding.get(client) ?? 0) + by);
    if (by < 0) for (const waiter of [...this.waiters]) waiter();
  }
}

/** JSON with object keys sorted, so that equal payloads give equal keys whatever the key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => a.localeCompare(b)))
      : inner,
  );
}

/** Several ledgers' reports as one (client processes each keep their own). */
export function mergeDeliveryReports(reports: readonly DeliveryReport[]): DeliveryReport {
  const byEvent: Record<string, DeliveryCounts> = {};
  let total: DeliveryCounts = emptyCounts();
  for (const report of reports) {
    total = addCounts(total, report);
    for (const [event, counts] of Object.entries(report.byEvent)) {
      byEvent[event] = addCounts(byEvent[event] ?? emptyCounts(), counts);
    }
  }
  return { ...total, byEvent };
}

function emptyCounts(): DeliveryCounts {
  return { expected: 0, received: 0, lost: 0, duplicated: 0, unexpected: 0 };
}

function addCounts(a: DeliveryCounts, b: DeliveryCounts): DeliveryCounts {
  return {
    expected: a.expected + b.expected,
    received: a.received + b.received,
    lost: a.lost + b.lost,
    duplicated: a.duplicated + b.duplicated,
    unexpected: a.unexpected + b.unexpected,
  };
}
