/**
 * A bench client process (`node --import tsx sim/load/bench-worker.ts`, with an IPC channel): opens
 * the clients the driver hands it and drives them on command, so that the clients' CPU is neither
 * the server's nor the driver's. Commands and answers are in bench-protocol.ts. A lesson's teacher
 * and its students are always in the same worker, so every seat claim's `set_student_name` is
 * matched here.
 */
import { performance } from 'node:perf_hooks';
import type { BenchClient, BenchEvent, WorkerAnswer, WorkerCommand } from './bench-protocol.js';
import { DeliveryLedger } from './delivery-ledger.js';
import { LoadClient } from './load-client.js';
import { forEachLimited } from './pool.js';
import { RequestStats } from './request-stats.js';

const ACK_TIMEOUT_MS = 10_000;

interface Open {
  readonly spec: BenchClient;
  readonly client: LoadClient;
  names: number;
}

const setupStats = new RequestStats();
const ledger = new DeliveryLedger();
const open: Open[] = [];
/**
 * While a measurement runs, expectations and receipts are only collected, and matched after it, so
 * that the bookkeeping costs the clients nothing while they are timed.
 */
let collecting: Array<() => void> | null = null;
const keyOf = (role: string, userId: string) => `${role} ${userId}`;
const book = (entry: () => void) => {
  if (collecting === null) entry();
  else collecting.push(entry);
};

async function connect(
  command: Extract<WorkerCommand, { type: 'connect' }>,
): Promise<WorkerAnswer> {
  let connected = 0;
  const openClient = async (spec: BenchClient) => {
    const key = keyOf(spec.role, spec.userId);
    const client = new LoadClient({
      url: command.url,
      handshake: { role: spec.role, orgId: spec.orgId, manager: false, token: spec.token },
      transports: ['websocket'],
      connectTimeoutMs: ACK_TIMEOUT_MS,
      ackTimeoutMs: ACK_TIMEOUT_MS,
      stats: setupStats,
      onEvent: (event, payload) => book(() => ledger.receive(key, event, payload)),
    });
    if (!(await client.connect())) return;
    connected += 1;
    const entry: Open = { spec, client, names: 0 };
    open.push(entry);
    await client.request('join_lesson', joinPayload(spec));
    if (command.claimSeats && spec.role === 'student') await claim(entry, setupStats);
  };
  // Teachers first: a seat claimed before the teacher has joined would tell nobody.
  for (const role of ['teacher', 'student'] as const) {
    const clients = command.clients.filter((spec) => spec.role === role);
    await forEachLimited(clients, command.connectConcurrency, openClient);
  }
  return { type: 'connected', connected, stats: setupStats.toData() };
}

function joinPayload(spec: BenchClient) {
  return { user_id: spec.userId, lesson_id: spec.lessonId, role: spec.role };
}

/** Claims the student's own seat under a new name; an acknowledged claim is expected at its teacher. */
async function claim(entry: Open, stats: RequestStats): Promise<boolean> {
  entry.names += 1;
  const { spec } = entry;
  const payload = {
    lesson_id: spec.lessonId,
    display_name: `Bench ${entry.names}`,
    seat_id: spec.seatId,
    student_id: spec.userId,
  };
  const ack = await entry.client.request('set_student_name', payload, stats);
  if (ack?.ok) {
    const { display_name, seat_id, student_id } = payload;
    book(() =>
      ledger.expect(keyOf('teacher', spec.teacherId), 'set_student_name', {
        display_name,
        seat_id,
        student_id,
      }),
    );
  }
  return ack !== null;
}

async function drive(command: Extract<WorkerCommand, { type: 'drive' }>): Promise<WorkerAnswer> {
  const warmup = new RequestStats();
  const measured = new RequestStats();
  const startedAt = performance.now();
  const windowAt = startedAt + command.warmupMs;
  const endAt = windowAt + command.durationMs;
  let count = 0;
  const send = (entry: Open, event: BenchEvent, stats: RequestStats): Promise<boolean> =>
    event === 'set_student_name'
      ? claim(entry, stats)
      : entry.client.request(event, joinPayload(entry.spec), stats).then((ack) => ack !== null);
  const lane = async (entry: Open) => {
    while (performance.now() < endAt) {
      const inWindow = performance.now() >= windowAt;
      // A client that lost its socket or timed out leaves the run rather than spin.
      if (!(await send(entry, command.event, inWindow ? measured : warmup))) return;
      if (inWindow) count += 1;
    }
  };
  collecting = [];
  const students = open.filter((entry) => entry.spec.role === 'student');
  await Promise.all(
    students.flatMap((entry) => Array.from({ length: command.concurrency }, () => lane(entry))),
  );
  const collected = collecting;
  collecting = null;
  for (const entry of collected) entry();
  return { type: 'driven', measured: count, stats: measured.toData() };
}

async function settle(timeoutMs: number): Promise<WorkerAnswer> {
  const teachers = open.filter((entry) => entry.spec.role === 'teacher');
  await ledger.settled(
    teachers.map((entry) => keyOf('teacher', entry.spec.userId)),
    timeoutMs,
  );
  return { type: 'settled', delivery: ledger.report() };
}

function disconnect(): WorkerAnswer {
  for (const entry of open.splice(0)) entry.client.disconnect();
  return { type: 'disconnected' };
}

function handle(command: WorkerCommand): Promise<WorkerAnswer> | WorkerAnswer {
  switch (command.type) {
    case 'connect':
      return connect(command);
    case 'drive':
      return drive(command);
    case 'settle':
      return settle(command.timeoutMs);
    case 'disconnect':
      return disconnect();
  }
}

process.on('message', (command: WorkerCommand) => {
  Promise.resolve()
    .then(() => handle(command))
    .catch(
      (error: unknown): WorkerAnswer => ({
        type: 'failed',
        message: error instanceof Error ? error.message : String(error),
      }),
    )
    .then((answer) => process.send?.(answer));
});
// The driver going away ends the worker, whatever it was doing.
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' } satisfies WorkerAnswer);
