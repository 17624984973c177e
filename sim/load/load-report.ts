import { type LoadReport, loadRunPassed } from './load-run.js';
import { counted, countsText, textTable } from './text-table.js';

/** The human-readable report of `classroom-sim load`. */
export function formatLoadReport(report: LoadReport): string {
  const { clients, delivery, seats, actions } = report;
  const lines: string[] = [
    `classroom-sim load against ${report.urls.join(', ')}`,
    `  ${counted(clients.managers, 'manager')}, ${counted(clients.teachers, 'teacher')}, ${counted(clients.students, 'student')}; ` +
      `ran ${(report.elapsedMs / 1000).toFixed(1)} s of the ${(report.durationMs / 1000).toFixed(1)} s asked`,
    ...report.notes.map((note) => `  note: ${note}`),
    '',
    `Connect rate: ${report.connectRatePerS} admitted handshakes/s during the opening wave`,
    '',
    'Requests (latency of answered requests, ms; "connect" is every handshake, reconnects included):',
    textTable([
      ['request', 'sent', 'ok', 'failed', 'p50', 'p95', 'p99', 'max'],
      ...Object.entries(report.requests).map(([name, summary]) => [
        name === 'connect' ? 'connect (with reconnects)' : name,
        summary.sent,
        summary.ok,
        summary.sent - summary.ok,
        summary.latency.p50Ms,
        summary.latency.p95Ms,
        summary.latency.p99Ms,
        summary.latency.maxMs,
      ]),
    ]),
    '',
    `Errors by code: ${countsText(report.errors)}`,
    `  expected (seat races): ${countsText(report.expectedErrors)}; unexpected: ${report.unexpectedErrors}`,
    `Seat races: ${seats.races}, anomalies ${seats.anomalies}, double bookings ${seats.doubleBookings}`,
    `Steady phase: ${actions.done} actions, ${actions.skipped} skipped (every student busy or at its pace)`,
    '',
    'Server events received against expected:',
    textTable([
      ['event', 'expected', 'received', 'lost', 'duplicated', 'unexpected'],
      ...Object.entries(delivery.byEvent).map(([event, counts]) => [
        event,
        counts.expected,
        counts.received,
        counts.lost,
        counts.duplicated,
        counts.unexpected,
      ]),
      [
        'total',
        delivery.expected,
        delivery.received,
        delivery.lost,
        delivery.duplicated,
        delivery.unexpected,
      ],
    ]),
    '',
    'Node metrics: classroom_* series that changed (histogram buckets left out; --json has them):',
  ];
  for (const { url, changed } of report.metrics) {
    lines.push(`  ${url}`);
    const shown = changed.filter((change) => !change.series.includes('_bucket{'));
    lines.push(
      shown.length === 0
        ? '    nothing changed'
        : textTable(
            shown.map((change) => [
              change.series,
              round(change.before),
              round(change.after),
              `${change.delta > 0 ? '+' : ''}${round(change.delta)}`,
            ]),
            '    ',
          ),
    );
  }
  lines.push(
    report.counterMismatches.length === 0
      ? "  The nodes' classroom_events_total agrees with the driver's acknowledgements."
      : `  The nodes' classroom_events_total disagrees with the driver (someone else using the nodes?): ${report.counterMismatches.join('; ')}`,
    '',
    loadRunPassed(report)
      ? 'PASS: no server event lost, duplicated or unexpected; no unexpected error.'
      : 'FAIL: events were lost, duplicated or unexpected, or requests failed unexpectedly (see above).',
  );
  return `${lines.join('\n')}\n`;
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
