// Restart policy and backoff arithmetic. Pure.
import type { CompanionSpec } from "../config/schema.ts";

/** an exit that counts as success: a code in success_exit_codes, not a death by signal */
export function isSuccess(code: number | null, signal: string | null, successCodes: readonly number[] = [0]): boolean {
  return signal === null && code !== null && successCodes.includes(code);
}

export function shouldRestart(policy: CompanionSpec["restart"], code: number | null, signal: string | null, successCodes: readonly number[] = [0]): boolean {
  if (policy === "always") return true;
  if (policy === "never") return false;
  return !isSuccess(code, signal, successCodes); // on-failure
}

/**
 * Delay before the retry after failed run n (1-based count of consecutive failed runs since the
 * last stable one). The end of a stable run itself waits nothing (step.ts: n = 0 there).
 */
export function retryDelayMs(spec: Pick<CompanionSpec, "backoff" | "restartDelayMs" | "maxRestartDelayMs">, failures: number): number {
  if (spec.backoff === "fixed") return spec.restartDelayMs;
  const n = Math.max(1, failures);
  const grown = spec.restartDelayMs * 2 ** Math.min(n - 1, 40);
  return Math.min(grown, Math.max(spec.maxRestartDelayMs, spec.restartDelayMs));
}

/**
 * How long a RUNNING process must stay up before its failures are forgiven: startsecs more,
 * but at least 1 s, so that a startsecs = 0 crash loop still backs off exponentially.
 */
export function stableWindowMs(spec: Pick<CompanionSpec, "startsecsMs">): number {
  return Math.max(spec.startsecsMs, 1000);
}
