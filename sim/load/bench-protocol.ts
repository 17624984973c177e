import type { DeliveryReport } from './delivery-ledger.js';
import type { RequestStatsData } from './request-stats.js';

/** The two events the bench measures. */
export type BenchEvent = 'join_lesson' | 'set_student_name';
export const BENCH_EVENTS: readonly BenchEvent[] = ['join_lesson', 'set_student_name'];

/** One client a worker opens: a lesson's teacher, or one of its students with its seat. */
export interface BenchClient {
  readonly userId: string;
  readonly orgId: string;
  readonly role: 'teacher' | 'student';
  readonly token: string;
  readonly lessonId: string;
  /** The lesson's teacher, who hears this student's seat claims. */
  readonly teacherId: string;
  readonly seatId: string;
}

/** What the bench driver asks of a client worker over IPC, one command at a time. */
export type WorkerCommand =
  | {
      /** Connect every client, join its lesson, and (students, with `claimSeats`) claim its seat. */
      readonly type: 'connect';
      readonly url: string;
      readonly clients: readonly BenchClient[];
      readonly connectConcurrency: number;
      readonly claimSeats: boolean;
    }
  | {
      /**
       * Every student sends `event` back to back, `concurrency` at a time, for `warmupMs` and then
       * `durationMs`; only requests sent after the warm-up are measured.
       */
      readonly type: 'drive';
      readonly event: BenchEvent;
      readonly warmupMs: number;
      readonly durationMs: number;
      readonly concurrency: number;
    }
  | { readonly type: 'settle'; readonly timeoutMs: number }
  | { readonly type: 'disconnect' };

export type WorkerAnswer =
  | { readonly type: 'ready' }
  | { readonly type: 'connected'; readonly connected: number; readonly stats: RequestStatsData }
  | { readonly type: 'driven'; readonly measured: number; readonly stats: RequestStatsData }
  | { readonly type: 'settled'; readonly delivery: DeliveryReport }
  | { readonly type: 'disconnected' }
  | { readonly type: 'failed'; readonly message: string };

/** What the bench driver asks of its echo server over IPC. */
export type EchoCommand = { readonly type: 'sockets' };

export type EchoAnswer =
  | { readonly type: 'listening'; readonly port: number }
  /** Sockets connected to its namespace. */
  | { readonly type: 'sockets'; readonly sockets: number };
