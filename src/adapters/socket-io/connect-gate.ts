import type { Server, Socket } from 'socket.io';

export type EngineConnection = Socket['conn'];

/**
 * The namespace a Socket.IO CONNECT packet (type 0) asks for, or null for any other packet. The
 * namespace runs from the packet's leading `/` to the first `,`, as Socket.IO's parser reads it;
 * Socket.IO 2.x clients (Engine.IO 3) append their query (`/classroom?role=…`), of which Socket.IO
 * keeps the path.
 */
export function connectTarget(data: unknown, protocol: number): string | null {
  if (typeof data !== 'string' || !data.startsWith('0')) return null;
  if (data[1] !== '/') return '/';
  const end = data.indexOf(',');
  const namespace = data.slice(1, end < 0 ? undefined : end);
  return protocol === 3 ? new URL(namespace, 'https://socket.io').pathname : namespace;
}

export interface ConnectGate {
  /** The connection's socket on the served namespace was refused or has left: it may open another. */
  release(connection: EngineConnection): void;
}

/**
 * Sits between each Engine.IO connection and Socket.IO's reading of it, and turns away the CONNECT
 * packets that Socket.IO would answer in a way the contract does not allow (PROTOCOL §1):
 * - any namespace but `served` — Socket.IO admits `/` without running any middleware and answers
 *   other names "Invalid namespace" — except the automatic `/` of a Socket.IO 2.x client, which
 *   Socket.IO makes on the server side with no packet;
 * - a second CONNECT to `served` while the connection has, or is opening, a socket there —
 *   Socket.IO would run the handshake again, or close the whole connection and with it the
 *   socket it already admitted.
 * `refuse` answers them. Every other packet reaches Socket.IO unchanged and in order.
 */
export function gateConnects(
  io: Server,
  served: string,
  refuse: (connection: EngineConnection, namespace: string, why: string) => void,
): ConnectGate {
  const taken = new WeakSet<EngineConnection>();

  function passes(connection: EngineConnection, data: unknown): boolean {
    const namespace = connectTarget(data, connection.protocol);
    if (namespace === null) return true;
    if (namespace !== served) {
      refuse(
        connection,
        namespace,
        `Connect to the namespace ${served}; ${namespace} serves nothing.`,
      );
      return false;
    }
    if (taken.has(connection)) {
      refuse(
        connection,
        namespace,
        `This connection already has a socket on ${served}; open a new connection for another one.`,
      );
      return false;
    }
    taken.add(connection);
    return true;
  }

  /** Socket.IO's readers of each connection, which the gate calls for the packets it passes. */
  const readersOf = new WeakMap<EngineConnection, Array<(data: unknown) => void>>();
  // One listener for every connection, reading it as `this`: a closure per connection would be
  // part of what every idle socket costs.
  function gated(this: EngineConnection, data: unknown): void {
    if (!passes(this, data)) return;
    for (const read of readersOf.get(this) ?? []) read.call(this, data);
  }

  // Socket.IO's own `connection` listener was registered when the server was made, so by now it
  // has attached the reader that this gate moves behind itself.
  io.engine.on('connection', (connection: EngineConnection) => {
    readersOf.set(connection, connection.listeners('data') as Array<(data: unknown) => void>);
    connection.removeAllListeners('data');
    connection.on('data', gated);
  });

  return {
    release: (connection) => {
      taken.delete(connection);
    },
  };
}
