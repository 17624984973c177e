import { type DomainError, domainError } from '../../domain/errors.js';
import type { Id } from '../../domain/ids.js';
import type { PresenceRecord } from '../../domain/presence.js';
import { fail, ok, type Result } from '../../domain/result.js';
import { answerUnavailable } from '../dependencies.js';
import type { PresenceLog } from '../ports/presence-log.js';
import type { SocketOf } from '../ports/presence-store.js';

export interface GetPresenceHistoryCommand {
  readonly socket: SocketOf;
  /** The teacher whose history is asked for, in the caller's own org. */
  readonly userId: Id;
  /** 1–200 (the door has checked it). */
  readonly limit: number;
  /** Only records strictly older than this (Unix ms). */
  readonly beforeMs?: number;
}

/** One record of `get_presence_history`'s answer, as it goes on the wire (PROTOCOL §5a). */
export interface PresenceHistoryEntry {
  readonly at: number;
  readonly kind: PresenceRecord['kind'];
  readonly reason: string;
  readonly by?: Id;
  readonly lesson_ids?: readonly Id[];
  readonly node: string;
}

function onTheWire(record: PresenceRecord): PresenceHistoryEntry {
  return {
    at: record.atMs,
    kind: record.kind,
    reason: record.reason,
    ...(record.by === undefined ? {} : { by: record.by }),
    ...(record.lessonIds === undefined ? {} : { lesson_ids: record.lessonIds }),
    node: record.node,
  };
}

/**
 * Why a teacher went online or offline (PROTOCOL §5a): the presence history of one user of the
 * caller's org, newest first, `limit` at a time, older than `beforeMs` when paging. Only a
 * ManagerWeb socket may ask (`forbidden`); the org is always the caller's, so a user id that has
 * no records there — one that exists only in another org, say — answers `{ events: [] }`.
 */
export class GetPresenceHistory {
  constructor(private readonly deps: { readonly presenceLog: PresenceLog }) {}

  execute(
    command: GetPresenceHistoryCommand,
  ): Promise<Result<{ events: PresenceHistoryEntry[] }, DomainError<'forbidden' | 'unavailable'>>> {
    return answerUnavailable(async () => {
      const { socket, userId, limit, beforeMs } = command;
      const { identity } = socket;
      if (identity.kind !== 'manager_web') {
        return fail(domainError('forbidden', 'Only a manager can read the presence history.'));
      }
      const records = await this.deps.presenceLog.history({
        orgId: identity.orgId,
        userId,
        limit,
        ...(beforeMs === undefined ? {} : { beforeMs }),
      });
      return ok({ events: records.map(onTheWire) });
    });
  }
}
