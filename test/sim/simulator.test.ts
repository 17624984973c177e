import { describe, expect, it } from 'vitest';
import type { InvariantName } from '../../sim/invariants.js';
import { FAULTS, parseFaults, type SimOptions } from '../../sim/options.js';
import { runSimulation, type SimulationHooks } from '../../sim/simulator.js';
import {
  InMemoryPresenceStore,
  type InMemoryStoreLink,
} from '../../src/adapters/in-memory/in-memory-presence-store.js';
import type { PresenceStore } from '../../src/application/ports/presence-store.js';
import { ok } from '../../src/domain/result.js';

const host = { macrotask: () => new Promise<void>((resolve) => setImmediate(resolve)) };

const SMALL: SimOptions = {
  seed: 20_260_105,
  orgs: 3,
  teachers: 10,
  students: 200,
  durationMs: 2 * 3_600_000,
  nodes: 3,
  faults: parseFaults('all'),
};

const simulate = (options: Partial<SimOptions> = {}, hooks: SimulationHooks = {}) =>
  runSimulation({ ...SMALL, ...options }, host, hooks);

/** The store as every node sees it, with some of its methods replaced by a broken version. */
function plantInStore(broken: (store: PresenceStore) => Partial<PresenceStore>) {
  return (store: PresenceStore): PresenceStore => {
    const replaced = broken(store);
    return new Proxy(store, {
      get: (target, name: keyof PresenceStore) =>
        replaced[name] ?? (target[name] as (...args: unknown[]) => unknown).bind(target),
    });
  };
}

/** The directory's sid of a user, read from the in-memory store behind a node's link. */
function directorySid(store: PresenceStore, userId: string): string | null {
  return (store as InMemoryStoreLink).store.inspect().directory[userId]?.sid ?? null;
}

describe('the simulator', () => {
  it('runs 3 orgs, 10 teachers and 200 students for 2 hours on 3 nodes with every fault, without a violation', async () => {
    const report = await simulate();
    expect(report.violation).toBeNull();
    expect(report.simulatedMs).toBe(SMALL.durationMs);
    // The run did what it is for: sessions ended, seats were raced for, every fault struck.
    expect(report.sessionsEnded).toBeGreaterThan(0);
    expect(report.deliveriesByEvent).toMatchObject({
      teacher_connect: expect.any(Number),
      teacher_disconnect: expect.any(Number),
      logout: expect.any(Number),
      force_logout: expect.any(Number),
      lesson_ended: expect.any(Number),
      set_student_name: expect.any(Number),
      presence_state: expect.any(Number),
    });
    expect(report.stepsByKind).toMatchObject({
      node_crash: expect.any(Number),
      store_restart: expect.any(Number),
      db_down: expect.any(Number),
      stale_disconnect: expect.any(Number),
      expiry_notification: expect.any(Number),
      store_late: expect.any(Number),
      link_down: expect.any(Number),
      tablet_connects: expect.any(Number),
    });
    expect(report.invariantChecks).toBeGreaterThan(report.steps / 10);
  });

  it('keeps a forced-out teacher out after a store loss while the database is away too (seed 3 at 200 teachers admitted t35 76 s early)', async () => {
    const report = await simulate({ seed: 3, teachers: 200 });
    expect(report.violation).toBeNull();
  });

  it('replays a seed exactly, and another seed differently', async () => {
    const first = await simulate({ durationMs: 3_600_000 });
    const again = await simulate({ durationMs: 3_600_000 });
    const other = await simulate({ durationMs: 3_600_000, seed: SMALL.seed + 1 });
    expect(again).toEqual(first);
    expect(other.hash).not.toBe(first.hash);
  });

  it('gives each fault its own run: switching one off changes the run', async () => {
    const all = await simulate({ durationMs: 3_600_000 });
    const withoutLoss = await simulate({
      durationMs: 3_600_000,
      faults: new Set(FAULTS.filter((fault) => fault !== 'expiry-loss')),
    });
    expect(withoutLoss.violation).toBeNull();
    expect(withoutLoss.hash).not.toBe(all.hash);
  });
});

describe('the simulator catches a planted bug', () => {
  /** Runs with the bug and expects one of the named invariants, with what it takes to replay it. */
  async function expectCaught(named: InvariantName | InvariantName[], hooks: SimulationHooks) {
    const report = await simulate({}, hooks);
    const invariant = report.violation?.invariant;
    expect(Array.isArray(named) ? named : [named]).toContain(invariant);
    expect(report.violation).toMatchObject({
      replay: `npx classroom-sim run --seed ${SMALL.seed} --orgs 3 --teachers 10 --students 200 --duration 2h --nodes 3 --faults all`,
    });
    const violation = report.violation;
    expect(violation?.trace.length).toBeGreaterThan(1);
    expect(violation?.trace.at(-1)).toContain(`VIOLATION ${invariant}`);
    expect(violation?.step).toBe(report.steps);
    return violation;
  }

  it('a seat claim that ignores seat_taken breaks seat-exclusivity', async () => {
    const violation = await expectCaught('seat-exclusivity', {
      presence: plantInStore((store) => ({
        async claimSeat(input) {
          const claimed = await store.claimSeat(input);
          if (claimed.ok || claimed.error !== 'seat_taken') return claimed;
          return ok({ alreadyHeld: false, releasedSeatId: null });
        },
      })),
    });
    expect(violation?.message).toMatch(/was given seat \d+ of lesson \d+, which s\d+ holds/);
  });

  it('an EndExpiredSession that skips the claim breaks session-ends-once', async () => {
    const violation = await expectCaught('session-ends-once', {
      sessionEnder: ({ lessons, notifier, clock }) => ({
        async execute(teacher) {
          const lessonIds = await lessons.endActiveLessons(teacher, clock.nowMs());
          await notifier.emit(
            { kind: 'org_managers', orgId: teacher.orgId },
            { name: 'logout', payload: { user_id: teacher.userId } },
          );
          return ok({ ended: true as const, lessonIds });
        },
      }),
    });
    expect(violation?.message).toMatch(/ended with no expiry left to end/);
  });

  it('a session end that forgets the lessons breaks lesson-ends-with-session', async () => {
    await expectCaught('lesson-ends-with-session', {
      sessionEnder: ({ real }) => {
        return {
          async execute(teacher) {
            const ended = await real.execute(teacher);
            // Reports the session end but says no lesson ended with it.
            return ended.ok && ended.value.ended
              ? ok({ ended: true as const, lessonIds: [] })
              : ended;
          },
        };
      },
    });
  });

  it('a store that ends the session of a teacher whose node died without a grace period breaks session-ends-once', async () => {
    const violation = await expectCaught('session-ends-once', {
      presence: plantInStore((store) => ({
        settleExpiredSession: (input) => store.settleExpiredSession({ ...input, graceS: 0 }),
      })),
    });
    expect(violation?.message).toMatch(/ended with no expiry left to end/);
  });

  it('a cooldown that lasts one second breaks cooldown', async () => {
    await expectCaught('cooldown', {
      presence: plantInStore((store) => ({
        startCooldown: (input) => store.startCooldown({ ...input, cooldownS: 1 }),
      })),
    });
  });

  it('a force_logout that reaches the directory’s socket in any org breaks tenant-isolation', async () => {
    // The bug fixed in 3e60743: a manager naming another org's teacher id forced that teacher out.
    await expectCaught('tenant-isolation', {
      presence: plantInStore((store) => ({
        async startCooldown(input) {
          await store.startCooldown(input);
          return { sid: directorySid(store, input.teacher.userId) };
        },
      })),
    });
  });

  it('a store that drops the fencing check breaks seat-exclusivity', async () => {
    // Calls that timed out for their callers (store-late) still apply when they arrive.
    class Unfenced extends InMemoryPresenceStore {
      protected override pastDeadline(): boolean {
        return false;
      }
    }
    const violation = await expectCaught('seat-exclusivity', {
      store: (clock) => new Unfenced(clock),
    });
    expect(violation?.message).toMatch(/acknowledged ""/);
  });

  it('a seat claim that never answers breaks answered-once', async () => {
    await expectCaught('answered-once', {
      presence: plantInStore(() => ({ claimSeat: () => new Promise(() => {}) })),
    });
  });

  it('a seat claim that throws breaks no-internal-error', async () => {
    await expectCaught('no-internal-error', {
      presence: plantInStore(() => ({
        claimSeat: () => Promise.reject(new TypeError('planted')),
      })),
    });
  });
});
