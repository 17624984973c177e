import type { TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';

/** Who an event is for. Each audience is a separate room: an org and a lesson never share one. */
export type Audience =
  | { readonly kind: 'org_managers'; readonly orgId: Id }
  | { readonly kind: 'lesson'; readonly lessonId: Id }
  | { readonly kind: 'lesson_teachers'; readonly lessonId: Id }
  | { readonly kind: 'teacher_apps'; readonly teacher: TeacherRef }
  /** One socket held by this node (events meant for it alone: its snapshot, its token). */
  | { readonly kind: 'socket'; readonly sid: string };

/**
 * A name per audience, equal for equal audiences and different for different ones: each kind has
 * its own prefix and ids never contain `:`, so org `7` and lesson `7` never share a room. Adapters
 * use it as the room's name (the Socket.IO notifier as is: socket ids never contain `:` either).
 */
export function audienceKey(audience: Audience): string {
  switch (audience.kind) {
    case 'org_managers':
      return `managers:${audience.orgId}`;
    case 'lesson':
      return `lesson:${audience.lessonId}`;
    case 'lesson_teachers':
      return `lesson-teachers:${audience.lessonId}`;
    case 'teacher_apps':
      return `teacher-app:${audience.teacher.orgId}:${audience.teacher.userId}`;
    case 'socket':
      return audience.sid;
  }
}

/** Events the server sends, with their exact wire payloads. */
export type ServerEvent =
  | {
      readonly name: 'teacher_connect' | 'logout' | 'force_logout';
      readonly payload: { readonly user_id: Id };
    }
  | {
      readonly name: 'teacher_disconnect';
      readonly payload: { readonly user_id: Id; readonly reason: string };
    }
  | { readonly name: 'presence_state'; readonly payload: PresenceState }
  | { readonly name: 'token_expiring'; readonly payload: { readonly exp: number } }
  | { readonly name: 'token_expired'; readonly payload: Record<string, never> }
  | {
      readonly name: 'set_student_name';
      readonly payload: {
        readonly display_name: string;
        readonly seat_id: string;
        readonly student_id: Id;
      };
    }
  | { readonly name: 'lesson_ended'; readonly payload: { readonly lesson_id: Id } };

/** One teacher in a manager's snapshot (PROTOCOL §5a), as it goes on the wire. */
export interface PresenceStateEntry {
  readonly user_id: Id;
  readonly state: 'connect' | 'disconnect';
  /** The alive hash's login_time, Unix seconds. */
  readonly login_time: number;
  /** When `state` last changed, Unix seconds. */
  readonly since: number;
  readonly lesson_id: Id | null;
}

/** The payload of `presence_state` and of `get_presence`'s ack. */
export interface PresenceState {
  readonly teachers: readonly PresenceStateEntry[];
}

/** Delivers events to sockets on whichever node holds them. */
export interface RealtimeNotifier {
  /** Adds a socket held by this node to an audience. */
  join(sid: string, audience: Audience): Promise<void>;

  /**
   * A socket held by this node is gone: it leaves every audience, including any it was added to
   * by a request that was still running when the transport let it go.
   */
  leaveAll(sid: string): Promise<void>;

  emit(audience: Audience, event: ServerEvent): Promise<void>;

  /** The server disconnects a socket held by this node (reason `io server disconnect`). */
  close(sid: string): Promise<void>;

  /**
   * Sends `event` to the teacher's TeacherApp sockets and to `sid` (the directory's socket), on
   * any node, then disconnects them. Resolves to how many sockets received it.
   */
  forceOut(teacher: TeacherRef, sid: string | null, event: ServerEvent): Promise<number>;

  /**
   * Calls `listener` each time this node's link to the other nodes is back after a loss: what they
   * sent meanwhile never reached this node's sockets, so whatever those sockets keep of it must
   * be sent again. A node that is alone never loses anything and never calls it.
   */
  onLinkRestored(listener: () => void): void;
}
