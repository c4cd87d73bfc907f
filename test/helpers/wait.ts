// Wait for a condition with a deadline, never for a fixed time. Failures say what was wanted
// and what was last seen.
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000, everyMs = 25): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await probe();
      if (ok(last)) return last;
    } catch (e) {
      lastErr = e;
    }
    if (performance.now() > deadline) {
      const got = lastErr && last === undefined ? `error ${lastErr}` : JSON.stringify(last)?.slice(0, 2000);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${got}`);
    }
    await Bun.sleep(everyMs);
  }
}
