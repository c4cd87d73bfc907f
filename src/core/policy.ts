// Restart policy and backoff arithmetic. Pure.
import type { CompanionSpec } from "../config/schema.ts";

export function shouldRestart(policy: CompanionSpec["restart"], code: number | null, signal: string | null): boolean {
  if (policy === "always") return true;
  if (policy === "never") return false;
  return code !== 0 || signal !== null; // on-failure
}

/** delay before retry n (1-based count of consecutive failures) */
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
