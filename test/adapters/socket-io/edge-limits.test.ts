import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EdgeLimits } from '../../../src/adapters/socket-io/edge-limits.js';

describe('EdgeLimits', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  const limits = () => new EdgeLimits({ maxConnectionsPerIp: 2, handshakeFailuresPerIpPerMin: 3 });

  describe('connections', () => {
    it('opens as many as the limit per IP, each IP on its own', async () => {
      const edge = limits();
      expect(await edge.openConnection('a')).toBe(true);
      expect(await edge.openConnection('a')).toBe(true);
      expect(await edge.openConnection('a')).toBe(false);
      expect(await edge.openConnection('b')).toBe(true);
    });

    it('takes nothing for a refused one, and opens another once one closes', async () => {
      const edge = limits();
      await edge.openConnection('a');
      await edge.openConnection('a');
      expect(await edge.openConnection('a')).toBe(false);
      expect(await edge.openConnection('a')).toBe(false);
      await edge.closeConnection('a');
      expect(await edge.openConnection('a')).toBe(true);
      expect(await edge.openConnection('a')).toBe(false);
    });

    it('never lets an open connection lapse with time', async () => {
      const edge = limits();
      await edge.openConnection('a');
      await edge.openConnection('a');
      vi.advanceTimersByTime(7 * 24 * 3_600_000);
      expect(await edge.openConnection('a')).toBe(false);
    });

    it('starts afresh once every connection of an IP has closed', async () => {
      const edge = limits();
      await edge.openConnection('a');
      await edge.closeConnection('a');
      await edge.closeConnection('a');
      expect(await edge.openConnection('a')).toBe(true);
      expect(await edge.openConnection('a')).toBe(true);
      expect(await edge.openConnection('a')).toBe(false);
    });
  });

  describe('refused handshakes', () => {
    it('allows handshakes until the IP has had as many refusals as the limit', async () => {
      const edge = limits();
      for (let refused = 0; refused < 2; refused += 1) await edge.handshakeRefused('a');
      expect(await edge.handshakeRetryAfterS('a')).toBeNull();
      await edge.handshakeRefused('a');
      expect(await edge.handshakeRetryAfterS('a')).toBe(60);
      expect(await edge.handshakeRetryAfterS('b')).toBeNull();
    });

    it('counts down to the end of the minute that began with the first refusal, then allows again', async () => {
      const edge = limits();
      await edge.handshakeRefused('a');
      vi.advanceTimersByTime(20_000);
      await edge.handshakeRefused('a');
      await edge.handshakeRefused('a');
      vi.advanceTimersByTime(38_500);
      expect(await edge.handshakeRetryAfterS('a')).toBe(2);
      vi.advanceTimersByTime(1_000);
      expect(await edge.handshakeRetryAfterS('a')).toBe(1);
      vi.advanceTimersByTime(500);
      expect(await edge.handshakeRetryAfterS('a')).toBeNull();
    });
  });
});
