/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so a crowd of
 * bots restarted together does not reconnect in lock-step. xmpp.js itself retries every 1 s.
 */
export interface BackoffOptions {
  initialDelay: number;
  maxDelay: number;
}

export function backoffDelay(attempt: number, { initialDelay, maxDelay }: BackoffOptions, random = Math.random): number {
  const ceiling = Math.min(maxDelay, initialDelay * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
