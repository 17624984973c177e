import type { ConnectedClient } from '../../application/use-cases/connect-client.js';
import type { ClientIdentity } from '../../domain/clients.js';

/**
 * What the gateway keeps in `socket.data` of an admitted socket. Socket.IO copies `data` into the
 * sockets that `fetchSockets()` returns from other nodes, so it stays plain JSON.
 */
export interface SocketState {
  readonly client: ConnectedClient;
  /** Set after a successful `logout`: presence is no longer refreshed or written on disconnect. */
  loggedOut: boolean;
}

/** The identity stored by the gateway, or null for a socket it did not admit. */
export function identityOf(data: unknown): ClientIdentity | null {
  const state = data as Partial<SocketState> | null | undefined;
  return state?.client?.socket.identity ?? null;
}
