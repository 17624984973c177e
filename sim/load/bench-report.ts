import { BENCH_EVENTS } from './bench-protocol.js';
import type { BenchReport, PhaseFigures } from './bench-run.js';
import { countsText, textTable } from './text-table.js';

/** The human-readable report of `classroom-sim bench`. */
export function formatBenchReport(report: BenchReport): string {
  const { sizes, memory, delivery } = report;
  const figures = (target: string, event: string, phase: PhaseFigures) => [
    `${event} ${target}`,
    phase.acksPerS,
    phase.latency.p50Ms,
    phase.latency.p95Ms,
    phase.latency.p99Ms,
    phase.latency.maxMs,
    `${phase.serverCpuPercent}%`,
    `${phase.clientCpuPercent}%`,
    `${phase.redisCpuPercent}%`,
    `${phase.machineCpuPercent}%`,
    countsText(phase.errors),
  ];
  const lines = [
    `classroom-sim bench, ${report.date}`,
    `  machine: ${report.machine}`,
    `  cores: ${report.cores}`,
    `  sizes: ${sizes.clients} students and ${sizes.teachers} teachers driven, ${sizes.concurrency} request(s) in flight per student, ` +
      `${sizes.durationMs / 1000} s measured after ${sizes.warmupMs / 1000} s warm-up per phase, ${sizes.workers} client process(es); ` +
      `${sizes.idleClients} idle clients for memory`,
    ...report.settings.map((setting) => `  ${setting}`),
    '',
    'Ack throughput and latency (ms); CPU as a share of one core during the phase ("machine": every',
    'process and the kernel together, PostgreSQL included):',
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
        'errors',
      ],
      ...BENCH_EVENTS.flatMap((event) => [
        figures('echo', event, report.events[event].echo),
        figures('service', event, report.events[event].service),
      ]),
    ]),
    '',
    'Service against the bare echo:',
    textTable([
      [
        'event',
        'throughput ratio',
        'p99 ratio',
        'database alone/s',
        'its ratio to echo',
        'machine CPU µs per ack, echo / service',
      ],
      ...BENCH_EVENTS.map((event) => {
        const { echo, service } = report.events[event];
        return [
          event,
          `${report.events[event].throughputRatio}×`,
          `${report.events[event].p99Ratio}×`,
          report.events[event].databaseCeilingPerS,
          `${report.events[event].ceilingRatio}×`,
          `${microsPerAck(echo)} / ${microsPerAck(service)}`,
        ];
      }),
    ]),
    '  "database alone": the event\'s PostgreSQL work through the service\'s own repository and pool, nothing else,',
    '  from the (unpinned) driver process with as many calls in flight as the clients keep: no node acknowledges faster.',
    '  "machine CPU per ack": what one acknowledged request cost the whole machine (server, clients, Redis, PostgreSQL,',
    '  kernel); when both phases keep every core busy, the throughput ratio is about the inverse of these two.',
    '',
    `Memory: ${memory.clients} idle clients connected and joined, ${memory.admitted} admitted by the server ` +
      `(open-file limit ${memory.serverOpenFileLimit}); server RSS ${mib(memory.rssBeforeBytes)} → ${mib(memory.rssAfterBytes)} MB, ` +
      `${kib(memory.rssPerClientBytes)} KB per client (heap ${kib(memory.heapPerClientBytes)} KB per client)`,
    `Delivery: set_student_name at the teachers: ${delivery.expected} expected, ${delivery.received} received, ` +
      `${delivery.lost} lost, ${delivery.duplicated} duplicated, ${delivery.unexpected} unexpected`,
    '',
    'Targets:',
    ...report.targets.map(
      (target) =>
        `  ${target.met ? 'met   ' : 'MISSED'}  ${target.name}: ${target.value} (target ${target.goal})`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** The whole machine's CPU time per acknowledgement during a phase, in µs. */
function microsPerAck(phase: PhaseFigures): number {
  return phase.acksPerS === 0
    ? 0
    : Math.round((phase.machineCpuPercent / 100 / phase.acksPerS) * 1e6);
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}
