import type { ServerEvent } from '../src/application/ports/realtime-notifier.js';
import type { ConnectClientResult } from '../src/application/use-cases/connect-client.js';
import { type ClientIdentity, clientKindOf, type TeacherRef } from '../src/domain/clients.js';
import type { Id } from '../src/domain/ids.js';
import type { Invariants, RequestContext } from './invariants.js';
import type { Answer, SimNode } from './node.js';
import type { Prng } from './prng.js';
import type { SimUser } from './school.js';

/**
 * When a server notices a connection that died silently: at its next ping without a pong, from
 * Socket.IO's pingTimeout (20 s) to pingInterval plus pingTimeout (45 s) after the drop.
 */
const NOTICED_AFTER_MS = [20_000, 45_000] as const;

/** What a client needs from the simulation around it. */
export interface ClientHost {
  readonly oracle: Invariants;
  /** Whether a dropped socket's disconnect may reach its node only after the reconnect. */
  readonly staleDisconnects: boolean;
  after(delayMs: number, kind: string, run: () => Promise<void> | void): void;
  log(line: string): void;
  /** A live node chosen by the load balancer, or null when every node is down. */
  pickNode(prng: Prng): SimNode | null;
  /** Registers a new socket id for this client, so deliveries and server disconnects reach it. */
  openSocket(client: Client): string;
  closeSocket(sid: string): void;
}

/** How the connection ended when the client did not choose it. */
export type LostReason = 'forced' | 'crash';

export interface ClientListener {
  onEvent?(event: ServerEvent): void;
  onLost?(reason: LostReason): void;
}

export type ConnectOutcome = 'no-node' | 'already' | ConnectClientResult;

interface Link {
  readonly node: SimNode;
  readonly sid: string;
  loggedOut?: boolean;
}

/**
 * One app of one user (TeacherApp, StudentWeb or ManagerWeb): a socket on some node at a time,
 * requests answered through that node, and the ways a connection ends — closing the app, a lost
 * network, a forced disconnect or a crashed node. Every request and handshake is reported to the
 * oracle and logged.
 */
export class Client {
  /** Counts connections and losses, so a timer set for one connection ignores the next. */
  generation = 0;
  private link: Link | null = null;
  /** Lost sockets whose disconnect their node has not seen yet (the stale-disconnect fault). */
  private readonly unnoticed = new Map<string, Link>();
  private connecting = false;

  constructor(
    private readonly host: ClientHost,
    readonly user: SimUser,
    private readonly token: string,
    private readonly prng: Prng,
    private readonly listener: ClientListener,
  ) {}

  get connected(): boolean {
    return this.link !== null;
  }

  /** Whether the current connection logged out: it stays open, but its presence is gone. */
  get loggedOut(): boolean {
    return this.link?.loggedOut === true;
  }

  private label(link: Link | null): string {
    const app = this.user.productType === 'manager' ? 'manager ' : '';
    return link === null
      ? `${app}${this.user.userId}`
      : `${app}${this.user.userId}@n${link.node.id}/${link.sid}`;
  }

  async connect(): Promise<ConnectOutcome> {
    if (this.link !== null || this.connecting) return 'already';
    const node = this.host.pickNode(this.prng);
    if (node === null) {
      this.host.log(`${this.label(null)} finds no node up`);
      return 'no-node';
    }
    this.connecting = true;
    const sid = this.host.openSocket(this);
    const result = await node.handshake(sid, this.user, this.token);
    this.connecting = false;
    const link = { node, sid };
    if (result.ok) {
      this.link = link;
      this.generation += 1;
      const back =
        result.value.lessonId === null ? '' : ` back into lesson ${result.value.lessonId}`;
      this.host.log(`${this.label(link)} connected${back}`);
    } else {
      this.host.closeSocket(sid);
      const retry =
        result.error.retryAfterS === undefined ? '' : ` retry_after_s=${result.error.retryAfterS}`;
      this.host.log(`${this.label(link)} refused ${result.error.code}${retry}`);
    }
    this.host.oracle.handshakeAnswered(
      sid,
      node.id,
      result.ok ? result.value.socket.identity : identityOf(this.user),
      result.ok ? { ok: true } : result,
      result.ok ? result.value.lessonId : null,
    );
    return result;
  }

  join(lessonId: Id): Promise<Answer<{ lesson_id: Id; seats: Record<string, string> }> | null> {
    return this.request(
      { name: 'join_lesson', lessonId },
      `join_lesson ${lessonId}`,
      async (link) => {
        const answer = await link.node.joinLesson(link.sid, lessonId, this.user);
        this.host.oracle.joinAnswered(
          link.sid,
          lessonId,
          answer.ok ? { ok: true, seats: answer.value.seats } : answer,
        );
        return answer;
      },
    );
  }

  logout(): Promise<Answer | null> {
    return this.request({ name: 'logout' }, 'logout', async (link) => {
      const answer = await link.node.logout(link.sid, this.user);
      if (answer.ok) {
        link.loggedOut = true;
        this.host.oracle.loggedOut(link.sid);
      }
      return answer;
    });
  }

  forceLogout(target: TeacherRef): Promise<Answer<{ delivered: boolean }> | null> {
    const what = `force_logout ${target.userId} of org ${target.orgId}`;
    return this.request({ name: 'force_logout' }, what, async (link) => {
      const answer = await link.node.forceLogout(link.sid, target);
      if (answer.ok) this.host.oracle.forcedOut(target);
      return answer;
    });
  }

  setStudentName(lessonId: Id, seatId: string): Promise<Answer | null> {
    const what = `set_student_name lesson ${lessonId} seat ${seatId}`;
    return this.request({ name: 'set_student_name', lessonId }, what, async (link) => {
      const displayName = `Student ${this.user.userId}`;
      const answer = await link.node.setStudentName(link.sid, this.user, {
        lessonId,
        seatId,
        displayName,
      });
      this.host.oracle.seatClaimAnswered(lessonId, this.user.userId, seatId, answer);
      return answer;
    });
  }

  private async request<T>(
    context: Omit<RequestContext, 'orgId'>,
    what: string,
    send: (link: Link) => Promise<Answer<T>>,
  ): Promise<Answer<T> | null> {
    const link = this.link;
    if (link === null) return null;
    const ticket = this.host.oracle.requestIssued({ ...context, orgId: this.user.orgId });
    const answer = await send(link);
    this.host.oracle.answered(ticket, answer);
    const outcome = answer.ok ? `ok ${JSON.stringify(answer.value)}` : answer.error.code;
    this.host.log(`${this.label(link)} ${what} → ${outcome}`);
    return answer;
  }

  /** The user closes the app: its node sees the socket go at once. */
  async close(): Promise<void> {
    const link = this.link;
    if (link === null) return;
    this.drop();
    await this.nodeNotices(link, 'client namespace disconnect', 'closed');
  }

  /**
   * The network drops; the app reconnects after `downMs` (null: it does not). Its node notices at
   * once, as when the connection closes cleanly — except that with the stale-disconnect fault the
   * connection dies silently half the time, and the node notices only at its ping timeout, which
   * is after the app is back when it came back quickly: the disconnect of a socket already
   * replaced by the reconnect.
   */
  async loseNetwork(downMs: number | null): Promise<void> {
    const link = this.link;
    if (link === null) return;
    this.drop();
    const noticedAfterMs = this.prng.between(...NOTICED_AFTER_MS);
    const silent = this.host.staleDisconnects && this.prng.chance(0.5);
    if (silent && downMs !== null && downMs < noticedAfterMs) {
      this.unnoticed.set(link.sid, link);
      this.host.log(`${this.label(link)} lost its network; its node has not noticed`);
      this.host.after(noticedAfterMs, 'stale_disconnect', () => {
        this.unnoticed.delete(link.sid);
        return this.nodeNotices(link, 'ping timeout', 'ping timeout');
      });
      return;
    }
    await this.nodeNotices(link, 'transport close', 'lost its network');
  }

  private drop(): void {
    this.link = null;
    this.generation += 1;
  }

  /** The node sees the socket go, with the reason Socket.IO would give it. */
  private async nodeNotices(link: Link, reason: string, why: string): Promise<void> {
    if (!link.node.holds(link.sid)) return;
    this.host.oracle.socketGone(link.sid, true);
    this.host.closeSocket(link.sid);
    await link.node.disconnect(link.sid, reason);
    this.host.log(`${this.label(link)} ${why}: disconnect handled`);
  }

  /** The host routes an event that reached one of this client's sockets. */
  delivered(sid: string, event: ServerEvent): void {
    if (this.link?.sid === sid) this.listener.onEvent?.(event);
  }

  /** The server disconnected this socket (force_logout): its node handles the disconnect now. */
  async forcedOff(sid: string): Promise<void> {
    const current = this.link?.sid === sid;
    const link = current ? this.link : (this.unnoticed.get(sid) ?? null);
    if (link === null) return;
    if (current) this.drop();
    else this.unnoticed.delete(sid);
    await this.nodeNotices(link, 'io server disconnect', 'forced off');
    if (current) this.listener.onLost?.('forced');
  }

  /** The node holding this socket crashed: the socket vanished with no disconnect handling. */
  vanished(sid: string): void {
    this.host.oracle.socketGone(sid);
    this.host.closeSocket(sid);
    this.unnoticed.delete(sid);
    if (this.link?.sid !== sid) return;
    this.drop();
    this.host.log(`${this.label(null)} lost ${sid}: its node crashed`);
    this.listener.onLost?.('crash');
  }
}

/** Who a refused client claimed to be (the school only makes valid role/product pairs). */
function identityOf(user: SimUser): ClientIdentity {
  const kind = clientKindOf(user.role, user.productType);
  if (kind === null) throw new Error(`${user.userId} has no client kind`);
  return { userId: user.userId, orgId: user.orgId, role: user.role, kind };
}
