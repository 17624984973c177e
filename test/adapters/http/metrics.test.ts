import { describe, expect, it } from 'vitest';
import { ServiceMetrics } from '../../../src/adapters/http/metrics.js';

describe('ServiceMetrics', () => {
  it('shows every client kind at 0 before anyone connects', async () => {
    const text = await new ServiceMetrics().text();
    for (const client of ['teacher_app', 'student_web', 'manager_web']) {
      expect(text).toContain(`classroom_connected_sockets{client="${client}"} 0`);
    }
  });

  it('counts sockets up on connect and down on disconnect', async () => {
    const metrics = new ServiceMetrics();
    metrics.connected('student_web');
    metrics.connected('student_web');
    metrics.disconnected('student_web');
    expect(await metrics.text()).toContain('classroom_connected_sockets{client="student_web"} 1');
  });

  it('counts events by name and outcome and times their acknowledgements', async () => {
    const metrics = new ServiceMetrics();
    metrics.handled('set_student_name', 'seat_taken', 0.003);
    metrics.handled('set_student_name', 'seat_taken', 0.004);
    metrics.handled('log_out', 'ok', 0.0002);
    const text = await metrics.text();
    expect(text).toContain(
      'classroom_events_total{event="set_student_name",outcome="seat_taken"} 2',
    );
    expect(text).toContain('classroom_events_total{event="log_out",outcome="ok"} 1');
    expect(text).toContain('classroom_ack_latency_seconds_count{event="set_student_name"} 2');
    expect(text).toContain(
      'classroom_ack_latency_seconds_bucket{le="0.005",event="set_student_name"} 2',
    );
  });

  it('keeps each instance in its own registry', async () => {
    const first = new ServiceMetrics();
    const second = new ServiceMetrics();
    first.connected('manager_web');
    expect(await second.text()).toContain('classroom_connected_sockets{client="manager_web"} 0');
  });
});
