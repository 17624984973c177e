/**
 * The bench's baseline, run as a child process (`node --import tsx sim/load/echo-server.ts
 * <seat count>`): a bare Socket.IO server built by the service's own `createSocketServer` (same
 * path, namespace, transports, `ws` engine and buffer limit) that does the transport work of the
 * service's two measured events and nothing else. `join_lesson` puts the socket in its lesson's
 * rooms (a teacher also in the lesson's teachers' room, as the service does) and acknowledges the
 * lesson's seat map, of the lesson's seat count and filled as students claimed seats, so that the
 * answer is the size of the service's; `set_student_name` takes the seat in that map, pushes the
 * same `set_student_name` event to the lesson's teachers and acknowledges as the service does. No
 * authentication, no checks, no stores: what the service spends beyond this is its own work.
 *
 * Over IPC it tells its parent the port it listens on, then answers `sockets` with the sockets it
 * holds (bench-protocol.ts); it stops on SIGTERM.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CLASSROOM_NAMESPACE,
  createSocketServer,
} from '../../src/adapters/socket-io/socket-server.js';
import { audienceKey } from '../../src/application/ports/realtime-notifier.js';
import { initialSeatMap, type SeatMap } from '../../src/domain/seat-map.js';
import type { EchoAnswer, EchoCommand } from './bench-protocol.js';

interface JoinPayload {
  readonly lesson_id: string;
  readonly role: string;
}

interface NamePayload {
  readonly lesson_id: string;
  readonly display_name: string;
  readonly seat_id: string;
  readonly student_id: string;
}

type Ack = (answer: unknown) => void;

const seatCount = Number(process.argv[2]);
if (!Number.isInteger(seatCount) || seatCount < 1) {
  throw new Error(`usage: echo-server.ts <seat count>, got ${JSON.stringify(process.argv[2])}`);
}
const seatMaps = new Map<string, SeatMap>();
const seatMapOf = (lessonId: string): SeatMap => {
  let seats = seatMaps.get(lessonId);
  if (seats === undefined) {
    seats = initialSeatMap(seatCount);
    seatMaps.set(lessonId, seats);
  }
  return seats;
};

const httpServer = createServer();
const io = createSocketServer(httpServer);
const classroom = io.of(CLASSROOM_NAMESPACE);
classroom.on('connection', (socket) => {
  socket.on('join_lesson', ({ lesson_id, role }: JoinPayload, ack: Ack) => {
    socket.join(audienceKey({ kind: 'lesson', lessonId: lesson_id }));
    if (role === 'teacher')
      socket.join(audienceKey({ kind: 'lesson_teachers', lessonId: lesson_id }));
    ack({ ok: true, data: { lesson_id, seats: seatMapOf(lesson_id) } });
  });
  socket.on('set_student_name', (payload: NamePayload, ack: Ack) => {
    const { lesson_id, display_name, seat_id, student_id } = payload;
    seatMapOf(lesson_id)[seat_id] = student_id;
    classroom
      .to(audienceKey({ kind: 'lesson_teachers', lessonId: lesson_id }))
      .emit('set_student_name', { display_name, seat_id, student_id });
    ack({ ok: true, data: { seat_id, display_name } });
  });
});
httpServer.listen(0, '127.0.0.1');
await once(httpServer, 'listening');
process.on('message', (command: EchoCommand) => {
  if (command.type !== 'sockets') return;
  process.send?.({ type: 'sockets', sockets: classroom.sockets.size } satisfies EchoAnswer);
});
process.send?.({ type: 'listening', port: (httpServer.address() as AddressInfo).port });
process.once('SIGTERM', () => {
  void io.close().then(() => process.exit(0));
});
