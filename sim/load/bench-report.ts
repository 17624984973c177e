import { BENCH_EVENTS } from './bench-protocol.js';
import { type BenchReport, type PhaseFigures, type ServerMemory, spreadText } from './bench-run.js';
import type { DeliveryReport } from './delivery-ledger.js';
import { counted, countsText, textTable } from './text-table.js';

/** The human-readable report of `classroom-sim bench`. */
export function formatBenchReport(report: BenchReport): string {
  const { sizes, memory, delivery } = report;
  const figures = (label: string, phase: PhaseFigures) => [
    label,
    phase.acksPerS,
    phase.latency.p50Ms,
    phase.latency.p95Ms,
    phase.latency.p99Ms,
    phase.latency.maxMs,
    `${phase.serverCpuPercent}%`,
    `${phase.clientCpuPercent}%`,
    `${phase.redisCpuPercent}%`,
    `${phase.machineCpuPercent}%`,
    phase.serverCpuPerAckUs,
    phase.machineCpuPerAckUs,
    countsText(phase.errors),
  ];
  const memoryRow = (round: number, server: string, figures: ServerMemory) => [
    `${round} ${server}`,
    figures.connected,
    figures.admitted,
    mib(figures.rssBeforeBytes),
    mib(figures.rssAfterBytes),
    kib(figures.rssPerClientBytes),
    kib(figures.rssPerClientUncollectedBytes),
    kib(figures.heapPerClientBytes),
    figures.openFileLimit,
  ];
  const lines = [
    `classroom-sim bench, ${report.date}`,
    `  machine: ${report.machine}`,
    `  cores: ${report.cores}`,
    `  sizes: ${counted(sizes.clients, 'student')} and ${counted(sizes.teachers, 'teacher')} driven, ${sizes.concurrency} request(s) in flight per student, ` +
      `${sizes.durationMs / 1000} s measured after ${sizes.warmupMs / 1000} s warm-up per phase, ${counted(sizes.rounds, 'round')}, ${counted(sizes.workers, 'client process', 'client processes')} per server; ` +
      `${sizes.idleClients} idle clients for memory`,
    ...report.settings.map((setting) => `  ${setting}`),
    '',
    'Ack throughput and latency (ms) by round; CPU during the phase as a share of one core ("machine": every',
    'process and the kernel together, PostgreSQL included), and CPU µs per acknowledgement:',
    textTable([
      [
        'phase',
        'acks/s',
        'p50',
        'p95',
        'p99',
        'max',
        'server CPU',
        'clients CPU',
        'Redis CPU',
        'machine CPU',
        'server µs/ack',
        'machine µs/ack',
        'errors',
      ],
      ...BENCH_EVENTS.flatMap((event) =>
        report.events[event].rounds.flatMap((round, i) => [
          figures(`${event} ${i + 1} echo`, round.echo),
          figures(`${event} ${i + 1} service`, round.service),
        ]),
      ),
    ]),
    '',
    'Service against the echo server, median (range) of the rounds:',
    textTable([
      [
        'event',
        'server CPU per ack',
        'throughput ratio',
        'p99 ratio',
        'database alone/s',
        'its ratio to echo',
      ],
      ...BENCH_EVENTS.map((event) => {
        const comparison = report.events[event];
        return [
          event,
          spreadText(comparison.serverCpuPerAckRatio),
          spreadText(comparison.throughputRatio),
          spreadText(comparison.p99Ratio),
          comparison.databaseCeilingPerS,
          `${comparison.ceilingRatio}×`,
        ];
      }),
    ]),
    '  "server CPU per ack": the target; the service process against the echo process, each on its own core.',
    '  "throughput ratio": information; when both phases keep every core busy it is about the inverse of the',
    '  ratio of machine µs per ack, which counts the clients, Redis, PostgreSQL and the kernel as well.',
    '  "database alone": the event\'s PostgreSQL work through the service\'s own repository and pool, nothing else,',
    '  from the (unpinned) driver process with as many calls in flight as the clients keep: no node acknowledges faster.',
    '',
    `Memory: ${memory.clients} idle clients connected and joined on a fresh server in each round, from ${counted(memory.workers, 'client process', 'client processes')}:`,
    textTable([
      [
        'round',
        'connected',
        'admitted',
        'RSS before MB',
        'RSS after MB',
        'KB per client',
        'before GC',
        'live heap KB per client',
        'open-file limit',
      ],
      ...memory.rounds.flatMap((round, i) => [
        memoryRow(i + 1, 'echo', round.echo),
        memoryRow(i + 1, 'service', round.service),
      ]),
    ]),
    "  RSS and heap read after two full garbage collections (through the server's inspector: the second compacts what",
    '  the first left fragmented); "before GC": the RSS per client as found, with whatever garbage the connections left.',
    `  service RSS per client over the echo server's: ${spreadText(memory.rssRatio)}`,
    `Delivery of set_student_name at the teachers: service ${deliveryText(delivery.service)}; echo ${deliveryText(delivery.echo)}`,
    '',
    'Targets:',
    ...report.targets.map(
      (target) =>
        `  ${target.met ? 'met   ' : 'MISSED'}  ${target.name}: ${target.value} (target ${target.goal})`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

function deliveryText(delivery: DeliveryReport): string {
  return `${delivery.expected} expected, ${delivery.received} received, ${delivery.lost} lost, ${delivery.duplicated} duplicated, ${delivery.unexpected} unexpected`;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}
