/** The faults the simulator can inject, each switched on by name (`--faults`). */
export const FAULTS = [
  /** Expiry notifications arrive up to EXPIRY_DELAY_MAX_MS late. */
  'expiry-delay',
  /** Every live node hears each expiry (Redis pub/sub fan-out) instead of one node. */
  'expiry-dup',
  /** Some expiry notifications never arrive (no subscriber at the time, a reconnect). */
  'expiry-loss',
  /** A dropped socket's disconnect reaches its node only after the reconnect that replaced it. */
  'stale-disconnect',
  /** A node dies: its sockets vanish without any disconnect handling; it comes back later, empty. */
  'node-crash',
  /** The presence store restarts empty, like a Redis without persistence. */
  'store-restart',
  /** The database cannot be reached for a while. */
  'db-outage',
  /**
   * A node's store calls time out for their callers (answered unavailable) for a while, and still
   * reach the store later, past their deadline: the store's fence must drop them.
   */
  'store-late',
  /** A node's link to the store is down for a while; the node goes on serving its sockets. */
  'link-down',
  /** Teachers use two devices (TeacherApp sockets) at once, now and then. */
  'two-devices',
  /** User ids repeat across orgs: every org numbers its teachers and students from 1. */
  'shared-ids',
] as const;

export type Fault = (typeof FAULTS)[number];

export interface SimOptions {
  readonly seed: number;
  readonly orgs: number;
  readonly teachers: number;
  readonly students: number;
  readonly durationMs: number;
  readonly nodes: number;
  readonly faults: ReadonlySet<Fault>;
}

/** Limits that keep a mistyped run from eating the machine. */
export const LIMITS = {
  orgs: 1_000,
  teachers: 10_000,
  students: 200_000,
  nodes: 64,
  durationMs: 7 * 24 * 3_600_000,
} as const;

/**
 * Reads `--faults`: a comma list of FAULTS names, `all`, or `none`. Throws a one-line error
 * naming the unknown entry.
 */
export function parseFaults(list: string): Set<Fault> {
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const faults = new Set<Fault>();
  for (const name of names) {
    if (name === 'all') for (const fault of FAULTS) faults.add(fault);
    else if (name === 'none') continue;
    else if ((FAULTS as readonly string[]).includes(name)) faults.add(name as Fault);
    else throw new RangeError(`unknown fault "${name}"; known: ${FAULTS.join(', ')}, all, none`);
  }
  return faults;
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `8h`, `90m`, `1h30m`, `45s`, `500ms`; a bare number is seconds. Null when unreadable. */
export function parseDuration(text: string): number | null {
  if (/^[0-9]{1,9}$/.test(text)) return Number(text) * 1_000;
  const parts = [...text.matchAll(/([0-9]{1,9})(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) return null;
  return parts.reduce(
    (total, [, amount, unit]) => total + Number(amount) * (UNIT_MS[unit ?? ''] ?? 0),
    0,
  );
}

/** The shortest exact spelling `parseDuration` reads back: `8h`, `1h30m`, `45s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
    ['ms', 1],
  ] as const) {
    const amount = Math.floor(rest / size);
    if (amount > 0) text += `${amount}${unit}`;
    rest -= amount * size;
  }
  return text;
}

/** The exact command line that runs these options again. */
export function replayCommand(options: SimOptions): string {
  const faults = FAULTS.filter((fault) => options.faults.has(fault));
  return [
    'npx classroom-sim run',
    `--seed ${options.seed}`,
    `--orgs ${options.orgs}`,
    `--teachers ${options.teachers}`,
    `--students ${options.students}`,
    `--duration ${formatDuration(options.durationMs)}`,
    `--nodes ${options.nodes}`,
    `--faults ${faults.length === FAULTS.length ? 'all' : faults.length === 0 ? 'none' : faults.join(',')}`,
  ].join(' ');
}
