import type { Namespace } from 'socket.io';
import { DependencyUnavailableError } from '../../application/errors.js';
import {
  type Audience,
  audienceKey,
  type RealtimeNotifier,
  type ServerEvent,
} from '../../application/ports/realtime-notifier.js';
import type { TeacherRef } from '../../domain/clients.js';
import { identityOf } from './socket-state.js';

/**
 * Delivers server events through Socket.IO rooms. With a cluster adapter (Redis) emits and
 * `fetchSockets()` reach every node; `join` only ever concerns sockets held by this node.
 * `linkRestored` is how that adapter's subscription says it is back after a loss (none alone).
 */
export class SocketIoNotifier implements RealtimeNotifier {
  constructor(
    private readonly namespace: Namespace,
    private readonly linkRestored: (listener: () => void) => void = () => {},
  ) {}

  onLinkRestored(listener: () => void): void {
    this.linkRestored(listener);
  }

  /**
   * Works during the handshake middleware too, before the socket is in `namespace.sockets`: the
   * adapter only records the membership, and Socket.IO's own clean-up of a refused or vanished
   * socket (`Socket#_cleanup` → `adapter.delAll(sid)`) removes it again.
   */
  async join(sid: string, audience: Audience): Promise<void> {
    await this.namespace.adapter.addAll(sid, new Set([audienceKey(audience)]));
  }

  async leaveAll(sid: string): Promise<void> {
    this.namespace.adapter.delAll(sid);
  }

  async close(sid: string): Promise<void> {
    this.namespace.sockets.get(sid)?.disconnect(true);
  }

  async emit(audience: Audience, event: ServerEvent): Promise<void> {
    this.namespace.to(audienceKey(audience)).emit(event.name, event.payload);
  }

  /**
   * The directory's `sid` is only trusted when that socket really is this teacher's TeacherApp:
   * the directory is keyed by user id alone, so it could name a socket of another org's user.
   * Each socket gets the event before its disconnect, in that order on the same connection.
   */
  async forceOut(teacher: TeacherRef, sid: string | null, event: ServerEvent): Promise<number> {
    const teacherRoom = audienceKey({ kind: 'teacher_apps', teacher });
    const sockets = await this.namespace
      .in(sid === null ? teacherRoom : [teacherRoom, sid])
      .fetchSockets()
      .catch((error: unknown) => {
        // With a cluster adapter this fails when another node does not answer in time.
        throw new DependencyUnavailableError('presence', { cause: error });
      });
    const targets = sockets.filter((socket) => {
      const identity = identityOf(socket.data);
      return (
        identity?.kind === 'teacher_app' &&
        identity.orgId === teacher.orgId &&
        identity.userId === teacher.userId
      );
    });
    for (const socket of targets) {
      socket.emit(event.name, event.payload);
      socket.disconnect(true);
    }
    return targets.length;
  }
}
