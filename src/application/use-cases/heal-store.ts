import { type TeacherRef, teacherKey } from '../../domain/clients.js';
import type { PresenceRecord } from '../../domain/presence.js';
import type { SessionEpoch } from '../../domain/session.js';
import { DependencyUnavailableError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { CooldownLedger } from '../ports/cooldown-ledger.js';
import type { LessonRepository } from '../ports/lesson-repository.js';
import type { HeldSocketState, PresenceStore, StoreMark } from '../ports/presence-store.js';
import type { RealtimeNotifier } from '../ports/realtime-notifier.js';
import type { Timings } from '../settings.js';
import { type PresenceRecording, recordPresence } from './record-presence.js';

/**
 * Redis is soft state and PostgreSQL the truth (PROTOCOL §6a.3): on every presence refresh a node
 * asks the store whether it lost data since the node last looked — restarted empty, flushed,
 * failed over — and when it did, heals it.
 *
 * - The node puts back what it holds: its TeacherApp sockets live again (each of their teachers is
 *   announced to its managers with `teacher_connect`), its students' directory entries and lesson
 *   memberships. A TeacherApp whose session the history says ended after it began (logged out on
 *   another device, or ended, before this node's refresh could learn it from the store) is not
 *   put back: it is reported `ended`, and its node stops refreshing it.
 * - Exactly one node (a claim per loss) puts back what the database knows: every `active` lesson
 *   whose teacher has no session gets one in its grace period — it ends unless the teacher comes
 *   back — and every cooldown still running is set again. Until that is done, every node's
 *   refresh tries to claim the loss: when the database is away, or the node that claimed it died
 *   midway, a node (the same or another) claims it again once the claim's lease has run out.
 *   Nothing written so far is undone, since every restore is idempotent.
 *
 * One instance per node: it remembers the store's mark as this node last saw it.
 */
export class HealStore {
  private lastMark: StoreMark | null = null;

  constructor(
    private readonly deps: PresenceRecording & {
      readonly presence: PresenceStore;
      readonly lessons: LessonRepository;
      readonly cooldowns: CooldownLedger;
      readonly notifier: RealtimeNotifier;
      readonly clock: Clock;
      readonly timings: Timings;
    },
  ) {}

  /**
   * Resolves to whether the store had lost data, and the sids of the held TeacherApp sockets
   * whose session ended meanwhile. Throws when the store cannot be reached.
   */
  async execute(
    held: readonly HeldSocketState[],
  ): Promise<{ readonly lost: boolean; readonly ended: readonly string[] }> {
    const { presence, clock, timings } = this.deps;
    // A node's first look cannot tell a loss that came before it from none: the sockets it admitted
    // before that look (normally none: it looks first when it starts) are put back either way.
    const firstLook = this.lastMark === null;
    const { mark, lost, reconciled } = await presence.checkContinuity(this.lastMark);
    this.lastMark = mark;
    const ended: string[] = [];
    if (lost || (firstLook && held.length > 0)) {
      const lastWords = await this.lastWords(heldTeachers(held));
      const live = held.filter((state) => {
        const last = lastWords?.get(teacherKey(state.socket.identity));
        const over = state.epoch !== null && last !== undefined && endedSince(last, state.epoch);
        if (over) ended.push(state.socket.sid);
        return !over;
      });
      await presence.restoreSockets({
        sockets: live,
        nowMs: clock.nowMs(),
        presenceTtlS: timings.presenceTtlS,
        lessonTtlS: timings.lessonTtlS,
      });
      // Every teacher put back is announced, not only those whose session the store had to
      // create: the node that reconciles the loss may have given a teacher held here a grace
      // period first, which a manager's snapshot showed as offline.
      for (const teacher of heldTeachers(live)) {
        await this.deps.notifier.emit(
          { kind: 'org_managers', orgId: teacher.orgId },
          { name: 'teacher_connect', payload: { user_id: teacher.userId } },
        );
        const last = lastWords?.get(teacherKey(teacher));
        if (last !== undefined && last.kind !== 'connect' && !isNeutral(last)) {
          // Connected throughout, yet the history's last word is that it left: its node had lost
          // the store for longer than the presence TTL (`node_lost`) before the store lost its
          // data, and the refresh that would have recorded its return finds nothing now.
          await recordPresence(this.deps, teacher, clock.nowMs(), 'connect', 'reconnect');
        }
      }
    }
    if (!reconciled && (await presence.claimReconciliation(mark, timings.sessionEndLeaseMs))) {
      await this.reconcile(mark);
    }
    return { lost, ended };
  }

  /**
   * Each teacher's last history record (absent: none), or null when the database cannot say. The
   * store kept nothing of what happened before its loss; the history is what remains of it.
   */
  private async lastWords(
    teachers: readonly TeacherRef[],
  ): Promise<Map<string, PresenceRecord> | null> {
    const lastWords = new Map<string, PresenceRecord>();
    try {
      for (const teacher of teachers) {
        const [last] = await this.deps.presenceLog.history({ ...teacher, limit: 1 });
        if (last !== undefined) lastWords.set(teacherKey(teacher), last);
      }
    } catch (error) {
      if (error instanceof DependencyUnavailableError) return null;
      throw error;
    }
    return lastWords;
  }

  /** Puts back what the database knows; the claim stays this node's until its lease runs out. */
  private async reconcile(mark: StoreMark): Promise<void> {
    const { presence, lessons, cooldowns, clock, timings } = this.deps;
    const nowMs = clock.nowMs();
    await presence.restoreSessions({
      teachers: await lessons.activeLessons(),
      nowMs,
      graceS: timings.disconnectGraceS,
    });
    await presence.restoreCooldowns({ cooldowns: await cooldowns.active(nowMs), nowMs, mark });
  }
}

/** Whether `last` ended the session that began at `epoch`: a logout or a session end since. */
function endedSince(last: PresenceRecord, epoch: SessionEpoch): boolean {
  const ends = last.kind === 'session_end' || (last.kind === 'logout' && last.reason === 'logout');
  return ends && last.atMs >= epoch * 1000;
}

/** The teachers of the held TeacherApp sockets, each once. */
function heldTeachers(held: readonly HeldSocketState[]): TeacherRef[] {
  const teachers = new Map<string, TeacherRef>();
  for (const { socket, epoch } of held) {
    if (socket.identity.kind !== 'teacher_app' || epoch === null) continue;
    const { orgId, userId } = socket.identity;
    teachers.set(teacherKey(socket.identity), { orgId, userId });
  }
  return [...teachers.values()];
}

/**
 * Records that say nothing of whether the teacher is online: a device that left while another
 * stayed, and a manager's force logout (the disconnect that follows is the change).
 */
function isNeutral({ kind, reason }: PresenceRecord): boolean {
  return (kind === 'disconnect' && reason === 'replaced') || reason === 'force_logout';
}
