import { describe, expect, it } from 'vitest';
import { changedSeries, eventOutcomeOf, parseSamples } from '../../sim/load/metrics-scrape.js';

const BEFORE = `# HELP classroom_events_total Client events handled.
# TYPE classroom_events_total counter
classroom_events_total{event="join_lesson",outcome="ok"} 3
classroom_connected_sockets{client="teacher_app"} 1
process_cpu_seconds_total 12.5
`;
const AFTER = `classroom_events_total{event="join_lesson",outcome="ok"} 10
classroom_events_total{event="set_student_name",outcome="seat_taken"} 2
classroom_connected_sockets{client="teacher_app"} 1
process_cpu_seconds_total 13
`;

describe('metrics scraping', () => {
  it('keeps the series with the prefix asked for, comments left out', () => {
    expect([...parseSamples(BEFORE, 'classroom_')]).toEqual([
      ['classroom_events_total{event="join_lesson",outcome="ok"}', 3],
      ['classroom_connected_sockets{client="teacher_app"}', 1],
    ]);
  });

  it('lists the series that moved, new ones counted from 0', () => {
    expect(
      changedSeries(parseSamples(BEFORE, 'classroom_'), parseSamples(AFTER, 'classroom_')),
    ).toEqual([
      {
        series: 'classroom_events_total{event="join_lesson",outcome="ok"}',
        before: 3,
        after: 10,
        delta: 7,
      },
      {
        series: 'classroom_events_total{event="set_student_name",outcome="seat_taken"}',
        before: 0,
        after: 2,
        delta: 2,
      },
    ]);
  });

  it('names an event counter by event and outcome, and nothing else', () => {
    expect(eventOutcomeOf('classroom_events_total{event="logout",outcome="ok"}')).toBe('logout ok');
    expect(eventOutcomeOf('classroom_connected_sockets{client="teacher_app"}')).toBeUndefined();
  });
});
