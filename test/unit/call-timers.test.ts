import { describe, expect, it, vi } from 'vitest';
import { CallTimers, TimerLedger } from '../../src/calls/call-timers.ts';

describe('CallTimers', () => {
  it('counts each pending timer in the ledger until it fires or is cleared', () => {
    vi.useFakeTimers();
    try {
      const ledger = new TimerLedger();
      const a = new CallTimers<'ring' | 'dtmf'>(ledger);
      const b = new CallTimers<'gather'>(ledger);
      const fired: string[] = [];
      a.set('ring', 100, () => fired.push('ring'));
      a.set('dtmf', 50, () => fired.push('dtmf'));
      b.set('gather', 10, () => fired.push('gather'));
      expect(ledger.pending).toBe(3);
      vi.advanceTimersByTime(10);
      expect(fired).toEqual(['gather']);
      expect(ledger.pending).toBe(2);
      // re-arming a name replaces its timer, it does not add one
      a.set('dtmf', 50, () => fired.push('dtmf again'));
      expect(ledger.pending).toBe(2);
      a.clear('ring');
      a.clear('ring');
      expect(ledger.pending).toBe(1);
      vi.advanceTimersByTime(1_000);
      expect(fired).toEqual(['gather', 'dtmf again']);
      expect(ledger.pending).toBe(0);
      a.set('ring', 100, () => fired.push('never'));
      a.clearAll();
      vi.advanceTimersByTime(1_000);
      expect(fired).not.toContain('never');
      expect(ledger.pending).toBe(0);
      expect(a.size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
