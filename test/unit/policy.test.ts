// Restart policy and backoff arithmetic (contract §4).
import { expect, test } from "bun:test";
import { isSuccess, retryDelayMs, shouldRestart, stableWindowMs } from "../../src/core/policy.ts";

test.each([
  ["always", 0, null, true],
  ["always", 1, null, true],
  ["always", null, "SIGKILL", true],
  ["on-failure", 0, null, false],
  ["on-failure", 1, null, true],
  ["on-failure", 255, null, true],
  ["on-failure", null, "SIGTERM", true],
  ["never", 0, null, false],
  ["never", 1, null, false],
  ["never", null, "SIGSEGV", false],
] as const)("shouldRestart(%p, code %p, signal %p) = %p", (policy, code, signal, want) => {
  expect(shouldRestart(policy, code, signal)).toBe(want);
});

test("success_exit_codes: on-failure restarts after an unlisted code or any signal", () => {
  expect(shouldRestart("on-failure", 3, null, [0, 3])).toBe(false);
  expect(shouldRestart("on-failure", 0, null, [0, 3])).toBe(false);
  expect(shouldRestart("on-failure", 1, null, [0, 3])).toBe(true);
  expect(shouldRestart("on-failure", 0, null, [1])).toBe(true);
  expect(shouldRestart("on-failure", 0, null, [])).toBe(true);
  expect(shouldRestart("on-failure", null, "SIGTERM", [0, 143])).toBe(true);
  expect(shouldRestart("always", 3, null, [3])).toBe(true);
  expect(shouldRestart("never", 1, null, [0])).toBe(false);
  expect(isSuccess(0, null)).toBe(true);
  expect(isSuccess(null, "SIGKILL", [0, 137])).toBe(false);
});

const fixed = { backoff: "fixed", restartDelayMs: 1500, maxRestartDelayMs: 30_000 } as const;
const expo = { backoff: "exponential", restartDelayMs: 1000, maxRestartDelayMs: 30_000 } as const;

test("fixed backoff waits restart_delay whatever the failure count", () => {
  expect([1, 2, 3, 10, 100].map((n) => retryDelayMs(fixed, n))).toEqual([1500, 1500, 1500, 1500, 1500]);
});

test("exponential backoff: restart_delay x 2^(n-1), capped at max_restart_delay", () => {
  expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelayMs(expo, n))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  expect(retryDelayMs({ ...expo, restartDelayMs: 250, maxRestartDelayMs: 1000 }, 3)).toBe(1000);
  expect(retryDelayMs({ ...expo, restartDelayMs: 250, maxRestartDelayMs: 1000 }, 2)).toBe(500);
});

test("exponential backoff: n below 1 counts as the first retry; a huge n stays finite and capped", () => {
  expect(retryDelayMs(expo, 0)).toBe(1000);
  expect(retryDelayMs(expo, 10_000)).toBe(30_000);
  expect(Number.isFinite(retryDelayMs({ ...expo, maxRestartDelayMs: Number.MAX_SAFE_INTEGER }, 10_000))).toBe(true);
});

test("a cap below restart_delay never shortens the first delay", () => {
  expect(retryDelayMs({ backoff: "exponential", restartDelayMs: 5000, maxRestartDelayMs: 1000 }, 1)).toBe(5000);
  expect(retryDelayMs({ backoff: "exponential", restartDelayMs: 5000, maxRestartDelayMs: 1000 }, 4)).toBe(5000);
});

test("restart_delay = 0 retries at once, exponential or not", () => {
  expect(retryDelayMs({ ...expo, restartDelayMs: 0 }, 5)).toBe(0);
  expect(retryDelayMs({ ...fixed, restartDelayMs: 0 }, 5)).toBe(0);
});

test("stable window = max(startsecs, 1 s)", () => {
  expect(stableWindowMs({ startsecsMs: 0 })).toBe(1000);
  expect(stableWindowMs({ startsecsMs: 500 })).toBe(1000);
  expect(stableWindowMs({ startsecsMs: 1000 })).toBe(1000);
  expect(stableWindowMs({ startsecsMs: 7500 })).toBe(7500);
});
