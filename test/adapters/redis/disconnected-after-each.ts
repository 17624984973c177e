import type { Redis } from 'ioredis';
import { afterEach } from 'vitest';

/** `track(client)` hands the client back and disconnects it after the test. */
export function disconnectedAfterEach(): <T extends Redis>(client: T) => T {
  const clients: Redis[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });
  return (client) => {
    clients.push(client);
    return client;
  };
}
