import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BACKOFF_BASE_MS,
  BACKOFF_JITTER,
  BACKOFF_MAX_MS,
  MIN_REFRESH_DELAY_MS,
  REFRESH_LEAD_MS,
  TOKEN_TIMEOUT_MS,
  backoffDelayMs,
  obtainToken,
  refreshDelayMs,
  withTimeout,
} from '../src/timing.js';

describe('refreshDelayMs', () => {
  it('asks REFRESH_LEAD_MS before expiry for a long session', () => {
    const now = 1_000_000;
    expect(refreshDelayMs(now + 900_000, now, now)).toBe(900_000 - REFRESH_LEAD_MS);
  });

  it('shortens the lead to a fifth of a short session', () => {
    const now = 0;
    // 100 s session: lead 20 s, not 60 s
    expect(refreshDelayMs(100_000, now, now)).toBe(80_000);
  });

  it('counts from the issue time, not from now', () => {
    expect(refreshDelayMs(900_000, 600_000, 0)).toBe(900_000 - REFRESH_LEAD_MS - 600_000);
  });

  it('never goes below the minimum, even for an expired session', () => {
    expect(refreshDelayMs(1_000, 50_000, 0)).toBe(MIN_REFRESH_DELAY_MS);
    expect(refreshDelayMs(0, 0, 0)).toBe(MIN_REFRESH_DELAY_MS);
  });
});

describe('backoffDelayMs', () => {
  it('doubles from the base without jitter', () => {
    expect([0, 1, 2, 3].map((a) => backoffDelayMs(a, 0.5))).toEqual([1, 2, 4, 8].map((x) => x * BACKOFF_BASE_MS));
  });

  it('is capped', () => {
    expect(backoffDelayMs(50, 0.5)).toBe(BACKOFF_MAX_MS);
  });

  it('jitters within ±BACKOFF_JITTER', () => {
    expect(backoffDelayMs(2, 0)).toBe(Math.round(4 * BACKOFF_BASE_MS * (1 - BACKOFF_JITTER)));
    expect(backoffDelayMs(2, 0.999999)).toBeLessThanOrEqual(Math.round(4 * BACKOFF_BASE_MS * (1 + BACKOFF_JITTER)));
  });
});

describe('obtainToken', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('retries failures with exponential backoff and carries on after errors', async () => {
    const calls = [];
    const fetchToken = vi.fn(async () => {
      calls.push(Date.now());
      if (calls.length < 4) throw new Error('backend down');
      return 'tok';
    });
    const failures = [];
    const start = Date.now();
    const result = obtainToken(fetchToken, new AbortController().signal, (e, a) => failures.push(a), () => 0.5);
    await vi.advanceTimersByTimeAsync(20_000);
    await expect(result).resolves.toBe('tok');
    expect(failures).toEqual([0, 1, 2]);
    expect(calls.map((t) => t - start)).toEqual([0, 1_000, 3_000, 7_000]);
  });

  it('gives a hung token function TOKEN_TIMEOUT_MS, then retries', async () => {
    let n = 0;
    const fetchToken = () => (++n === 1 ? new Promise(() => {}) : Promise.resolve('second'));
    const errors = [];
    const result = obtainToken(fetchToken, new AbortController().signal, (e) => errors.push(e.code), () => 0.5);
    await vi.advanceTimersByTimeAsync(TOKEN_TIMEOUT_MS - 1);
    expect(n).toBe(1);
    await vi.advanceTimersByTimeAsync(1 + BACKOFF_BASE_MS);
    await expect(result).resolves.toBe('second');
    expect(errors).toEqual(['timeout']);
  });

  it('treats an empty answer as a failure', async () => {
    const answers = ['', null, 'ok'];
    const result = obtainToken(async () => answers.shift(), new AbortController().signal, () => {}, () => 0.5);
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(result).resolves.toBe('ok');
  });

  it('stops every timer when aborted', async () => {
    const controller = new AbortController();
    const fetchToken = vi.fn(async () => {
      throw new Error('down');
    });
    const result = obtainToken(fetchToken, controller.signal, () => {}, () => 0.5);
    result.catch(() => {});
    await vi.advanceTimersByTimeAsync(3_500);
    const calls = fetchToken.mock.calls.length;
    controller.abort();
    await expect(result).rejects.toMatchObject({ code: 'aborted' });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(fetchToken.mock.calls.length).toBe(calls);
  });
});

describe('withTimeout', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('clears its timer when the promise settles first', async () => {
    await expect(withTimeout(Promise.resolve(1), 1000, new AbortController().signal)).resolves.toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
