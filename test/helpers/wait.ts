/** Polls until a condition holds, failing with `what` after `ms` milliseconds. */
export async function until(check: () => boolean, ms = 5_000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
