import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { growthPerUnit, heapCensus, socketRetention } from '../../sim/load/heap-census.js';

const SOCKETS = 200;
const PAYLOAD_BYTES = 1_000;

/**
 * Sockets shaped as Socket.IO's (`nsp`, `data`, `_events`, `_anyListeners`) in a Node process of
 * their own, each with a listener whose closure keeps a `Probe` and a buffer of its own: a heap
 * snapshot after SOCKETS of them, and another after twice as many.
 */
const PROGRAM = `
const { writeHeapSnapshot } = require('node:v8');
class Socket { constructor(nsp) { this.nsp = nsp; this.data = { userId: 'u' + Math.random() }; this._events = {}; this._anyListeners = []; } }
class Probe { constructor() { this.bytes = new Array(${PAYLOAD_BYTES / 8}).fill(0.5); } }
const nsp = { name: '/classroom' };
const shared = () => {};
const sockets = [];
function attach(socket) {
  const probe = new Probe();
  socket._anyListeners.push((event) => probe.bytes.length + event.length);
  socket._events.error = shared;
}
const open = (n) => { for (let i = 0; i < n; i++) {
  const socket = new Socket(nsp);
  attach(socket);
  sockets.push(socket);
} };
open(${SOCKETS}); writeHeapSnapshot(process.argv[1] + '/1.heapsnapshot');
open(${SOCKETS}); writeHeapSnapshot(process.argv[1] + '/2.heapsnapshot');
`;

describe('heap snapshots counted per socket', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'heap-census-'));
    execFileSync(process.execPath, ['-e', PROGRAM, dir]);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds what each socket added between two snapshots, by kind', () => {
    expect(readdirSync(dir).sort()).toEqual(['1.heapsnapshot', '2.heapsnapshot']);
    const growth = growthPerUnit(
      heapCensus(join(dir, '1.heapsnapshot')),
      heapCensus(join(dir, '2.heapsnapshot')),
      SOCKETS,
    );
    const kind = (name: string) => growth.find((g) => g.kind === name);
    expect(kind('object Socket')?.count).toBe(1);
    expect(kind('object Probe')?.count).toBe(1);
    expect(kind('closure shared')?.count ?? 0).toBe(0);
    // The probe's array of doubles is the largest thing a socket adds.
    expect(growth[0]?.bytes).toBeGreaterThanOrEqual(PAYLOAD_BYTES);
  });

  it("tells what a socket's own listener keeps alive from what all sockets share", () => {
    const retention = socketRetention(join(dir, '2.heapsnapshot'), 5);
    const item = (name: string) => retention.find((r) => r.item === name);
    const listener = item('_anyListeners (closure )');
    expect(listener?.bytes).toBeGreaterThan(PAYLOAD_BYTES);
    expect(listener?.kinds.map((k) => k.kind)).toContain('object Probe');
    expect(item('closure context of _anyListeners: probe (object Probe)')?.bytes).toBeGreaterThan(
      PAYLOAD_BYTES,
    );
    expect(item('data')?.kinds.map((k) => k.kind)).toContain('object Object');
    expect(retention.some((r) => r.item.includes('_events.error'))).toBe(false);
  });
});
