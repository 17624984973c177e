import type { SocketOf } from '../../application/ports/presence-store.js';
import type { ClientIdentity } from '../../domain/clients.js';

/**
 * The identity the door keeps in `socket.data` of an admitted socket: the node's `SocketOf`.
 * Socket.IO copies `data` into the sockets that `fetchSockets()` returns from other nodes, so it
 * stays plain JSON. Null for a socket the door did not admit.
 */
export function identityOf(data: unknown): ClientIdentity | null {
  return (data as Partial<SocketOf> | null | undefined)?.identity ?? null;
}
