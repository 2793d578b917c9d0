// Every wait in the SDK and the widget runtime takes its length from here, so the numbers
// can be read (and tested with fake timers) in one place. All values are milliseconds.

/** Ask for a new token this long before the session expires... */
export const REFRESH_LEAD_MS = 60_000;
/** ...but never more than this share of the session's whole lifetime before it. */
export const REFRESH_LEAD_FRACTION = 0.2;
/** Never schedule a refresh sooner than this (a clock skew must not cause a refresh storm). */
export const MIN_REFRESH_DELAY_MS = 5_000;
/** How long one call of the host's token function may take before it counts as failed. */
export const TOKEN_TIMEOUT_MS = 10_000;
/** First retry delay after a failed token call; doubles on each failure... */
export const BACKOFF_BASE_MS = 1_000;
/** ...up to this cap. Retries go on until destroy(): one network error must not stop them. */
export const BACKOFF_MAX_MS = 60_000;
/** Spread of the random jitter around each backoff delay (±25 %). */
export const BACKOFF_JITTER = 0.25;
/** The widget page must say hello within this time after the iframe fired `load`. */
export const HELLO_AFTER_LOAD_MS = 5_000;
/** The iframe must load and say hello within this time at all. */
export const HANDSHAKE_TIMEOUT_MS = 30_000;
/** The widget re-sends its hello this often until the host connects. */
export const HELLO_INTERVAL_MS = 500;
/** A host command must be answered within this time. */
export const COMMAND_TIMEOUT_MS = 30_000;
/** One API request from a widget must be answered within this time. */
export const API_TIMEOUT_MS = 30_000;
/** The widget waits this long for a token over the port before it reports an error. */
export const TOKEN_WAIT_MS = TOKEN_TIMEOUT_MS * 2;

/**
 * Milliseconds from `nowMs` until a new token should be asked for, for a session that
 * expires at `expiresAtMs` and was issued at `issuedAtMs`.
 *
 * The lead is REFRESH_LEAD_MS, shortened to REFRESH_LEAD_FRACTION of the lifetime for short
 * sessions, and the delay is never below MIN_REFRESH_DELAY_MS (an already expired session
 * also waits that long, so a wrong clock cannot make the widget ask in a tight loop).
 */
export function refreshDelayMs(expiresAtMs, nowMs, issuedAtMs = nowMs) {
  const lifetime = Math.max(0, expiresAtMs - issuedAtMs);
  const lead = Math.min(REFRESH_LEAD_MS, lifetime * REFRESH_LEAD_FRACTION);
  return Math.max(MIN_REFRESH_DELAY_MS, Math.round(expiresAtMs - lead - nowMs));
}

/**
 * Delay before retry number `attempt` (0 for the first retry): exponential from
 * BACKOFF_BASE_MS, capped at BACKOFF_MAX_MS, with ±BACKOFF_JITTER jitter taken from
 * `random` (a number in [0, 1); 0.5 means no jitter).
 */
export function backoffDelayMs(attempt, random = 0.5) {
  const raw = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
  return Math.round(raw * (1 + BACKOFF_JITTER * (2 * random - 1)));
}

/** A promise that rejects with `{code: 'aborted'}` when `signal` aborts. */
function abortable(signal) {
  return new Promise((_, reject) => {
    const fail = () => reject(Object.assign(new Error('aborted'), { code: 'aborted' }));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts (the timer is cleared). */
export function sleep(ms, signal) {
  let timer;
  return Promise.race([
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
    abortable(signal),
  ]).finally(() => clearTimeout(timer));
}

/** `promise`, or a rejection with `{code: 'timeout'}` after `ms`, or on abort. */
export function withTimeout(promise, ms, signal) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'timeout' })),
        ms,
      );
    }),
    abortable(signal),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Call `fetchToken()` until it yields a non-empty string: each call limited to
 * TOKEN_TIMEOUT_MS, failures retried after backoffDelayMs(attempt), for as long as `signal`
 * is not aborted. `onFailure(error, attempt)` is told about each failure.
 */
export async function obtainToken(fetchToken, signal, onFailure = () => {}, random = Math.random) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const token = await withTimeout(Promise.resolve().then(fetchToken), TOKEN_TIMEOUT_MS, signal);
      if (typeof token === 'string' && token) return token;
      throw Object.assign(new Error('the token function returned no token'), { code: 'empty' });
    } catch (error) {
      if (signal.aborted) throw error;
      onFailure(error, attempt);
    }
    await sleep(backoffDelayMs(attempt, random()), signal);
  }
}
