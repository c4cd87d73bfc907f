// Timers for durations of any length. setTimeout holds at most 2^31-1 ms (~24.8 days); a longer
// delay fires after 1 ms with a TimeoutOverflowWarning. This re-arms in steps and never fires early.

/** the longest delay setTimeout honours (ms): a signed 32-bit int, per the HTML timer spec */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  clear(): void;
}

/**
 * Run `fn` once, `ms` milliseconds from now (monotonic clock, performance.now()), however long
 * that is: the wait is re-armed in steps of at most MAX_TIMER_MS and `fn` never runs early.
 * `Infinity` never fires; a negative or NaN delay runs on the next tick.
 */
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  const at = performance.now() + (ms > 0 ? ms : 0);
  let handle: ReturnType<typeof setTimeout> | null = null;
  const arm = () => {
    const left = at - performance.now();
    if (left <= 0) {
      handle = null;
      fn();
      return;
    }
    handle = setTimeout(arm, Math.min(MAX_TIMER_MS, Math.ceil(left)));
  };
  if (at !== Infinity) handle = setTimeout(arm, Math.min(MAX_TIMER_MS, Math.ceil(at - performance.now())));
  return {
    clear() {
      if (handle) clearTimeout(handle);
      handle = null;
    },
  };
}
