/**
 * What one idle socket holds in the service's heap, against the bench's echo server: each server
 * in a child process of its own gets `--clients` idle students (connected, lesson joined), then as
 * many again; a heap snapshot after each (`--heapsnapshot-signal`, so after a full GC) is counted
 * by kind of object, and the difference divided by the sockets added is what one socket holds.
 * Prints, as Markdown, per server and for the service beyond the echo server, the kinds that grew
 * most in bytes of V8 heap per socket (shallow sizes); then what the service hangs on each socket
 * (its `data`, its listeners, their closures' variables) and what each keeps alive on its own.
 *
 *   npx tsx bench/socket-memory.ts [--clients 2000]
 *   (REDIS_URL, default redis://127.0.0.1:6379; DATABASE_URL, a database on the PostgreSQL server,
 *   default postgres://postgres@127.0.0.1:5432/postgres; the run's own keys and database are
 *   removed after it)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { watch } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { BenchClient } from '../sim/load/bench-protocol.js';
import {
  type BenchServer,
  BenchWorker,
  benchClients,
  connectAll,
  deleteKeys,
  type Placement,
  seatCountOf,
  startEchoServer,
  startServiceServer,
} from '../sim/load/bench-servers.js';
import { stopChild } from '../sim/load/child-processes.js';
import {
  type Growth,
  growthPerUnit,
  heapCensus,
  type Retention,
  socketRetention,
} from '../sim/load/heap-census.js';
import { seededPopulation } from '../sim/load/population.js';
import { scratchDatabase, seedPopulation } from '../sim/load/seed-database.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = randomBytes(32).toString('base64url');
const STUDENTS_PER_LESSON = 25;
/** Kinds shown per table; the rest is summed in one line. */
const SHOWN = 30;
/** Sockets whose holdings are followed one by one: enough to tell theirs from what they share. */
const SAMPLED_SOCKETS = 5;

const { values } = parseArgs({ options: { clients: { type: 'string', default: '2000' } } });
const clients = Number(values.clients);
if (!Number.isInteger(clients) || clients < 100 || clients > 9_000) {
  throw new Error(`--clients must be a whole number from 100 to 9000, got ${values.clients}`);
}

interface Measured {
  readonly growth: Growth[];
  readonly retention: Retention[];
}

const runTag = randomBytes(3).toString('hex');
const database = scratchDatabase(DATABASE_URL);
const population = seededPopulation(
  { orgs: 1, teachers: Math.ceil((2 * clients) / STUDENTS_PER_LESSON), students: 2 * clients },
  runTag,
);
const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
try {
  await redis.connect();
  await seedPopulation(database.url, population);
  const students = (await benchClients(population, SECRET)).filter(
    (client) => client.role === 'student',
  );
  const halves = [students.slice(0, clients), students.slice(clients)] as const;
  const echo = await measure((placement) => startEchoServer(seatCountOf(population), placement));
  const service = await measure((placement) =>
    startServiceServer(
      {
        redisUrl: REDIS_URL,
        keyPrefix: `socket-memory-${runTag}:`,
        databaseUrl: database.url,
        secret: SECRET,
      },
      placement,
    ),
  );
  print(echo, service);

  async function measure(start: (placement: Placement) => Promise<BenchServer>): Promise<Measured> {
    const dir = mkdtempSync(join(tmpdir(), 'socket-memory-'));
    const placement = { cpu: undefined, openFiles: 2 * clients + 1_024 };
    const server = await start({
      ...placement,
      nodeOptions: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`],
    });
    const worker = await BenchWorker.start(placement);
    try {
      const connect = (part: readonly BenchClient[]) =>
        connectAll([worker], server.url, part, { claimSeats: false, connectConcurrency: 200 });
      await connect(halves[0]);
      const first = await snapshot(server, dir);
      await connect(halves[1]);
      const second = await snapshot(server, dir);
      return {
        growth: growthPerUnit(heapCensus(first), heapCensus(second), clients),
        retention: socketRetention(second, SAMPLED_SOCKETS),
      };
    } finally {
      await stopChild(worker.child);
      await stopChild(server.child);
      rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  await database.drop();
  await deleteKeys(redis, `socket-memory-${runTag}:`);
  redis.disconnect();
}

/**
 * Has `server` write a heap snapshot into `dir` and resolves with its path once written: the
 * server writes it on its main thread, so it answers a request only after that.
 */
async function snapshot(server: BenchServer, dir: string): Promise<string> {
  const watcher = watch(dir);
  server.child.kill('SIGUSR2');
  for await (const { filename } of watcher) {
    if (filename?.endsWith('.heapsnapshot')) {
      await server.sockets();
      return join(dir, filename);
    }
  }
  throw new Error(`no heap snapshot appeared in ${dir}`);
}

function print(echo: Measured, service: Measured): void {
  const total = (growth: readonly Growth[]) => growth.reduce((sum, g) => sum + g.bytes, 0);
  const table = (title: string, growth: readonly Growth[]) => {
    const shown = growth.slice(0, SHOWN);
    const rest = growth.slice(SHOWN);
    console.log(`\n### ${title}: ${total(growth).toFixed(0)} bytes of heap per socket\n`);
    console.log('| kind | objects per socket | bytes per socket |');
    console.log('| --- | ---: | ---: |');
    for (const { kind, count, bytes } of shown) {
      console.log(`| \`${kind.slice(0, 80)}\` | ${count.toFixed(2)} | ${bytes.toFixed(0)} |`);
    }
    console.log(`| everything else (${rest.length} kinds) | | ${total(rest).toFixed(0)} |`);
  };
  console.log(`Idle students per step: ${clients}; Node ${process.version}`);
  table('echo server', echo.growth);
  table('service', service.growth);
  const echoOf = new Map(echo.growth.map((g) => [g.kind, g]));
  const beyond = service.growth
    .map((g) => ({
      kind: g.kind,
      count: g.count - (echoOf.get(g.kind)?.count ?? 0),
      bytes: g.bytes - (echoOf.get(g.kind)?.bytes ?? 0),
    }))
    .concat(
      echo.growth
        .filter((g) => !service.growth.some((s) => s.kind === g.kind))
        .map((g) => ({ kind: g.kind, count: -g.count, bytes: -g.bytes })),
    )
    .sort((a, b) => b.bytes - a.bytes);
  table('the service beyond the echo server', beyond);
  console.log(
    `\n### What the service hangs on a socket, and what each keeps alive on its own (bytes per socket, ${SAMPLED_SOCKETS} sockets)\n`,
  );
  console.log('| item | bytes | made of |');
  console.log('| --- | ---: | --- |');
  for (const { item, bytes, kinds } of service.retention) {
    const parts = kinds
      .slice(0, 4)
      .map((part) => `${part.kind} ${part.bytes.toFixed(0)}`)
      .join(', ');
    console.log(`| ${item} | ${bytes.toFixed(0)} | ${parts} |`);
  }
}
