// How status entries read (LAST-EXIT, REASON, the table, one companion's detail), which are as
// wanted (exit 4 of status and wait), and the line of a waited start/stop/restart.
import { describe, expect, test } from "bun:test";
import { outcome } from "../../src/cli/lifecycle.ts";
import { detail, type Entry, formatSpan, isWanted, lastExit, reason, table } from "../../src/cli/status-view.ts";

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const view = { now: NOW, color: false };

function entry(over: Partial<Entry>): Entry {
  return {
    name: "web",
    state: "RUNNING",
    pid: 1234,
    description: "running, pid 1234, uptime 0:05:12",
    started_at: NOW / 1000 - 312,
    exited_at: null,
    next_retry_at: null,
    restart_delay: null,
    last_exit_code: null,
    last_exit_signal: null,
    restart_count: 0,
    exit_count: 0,
    manual_stop: false,
    command: "forever",
    uptime: 312,
    processes: 1,
    cpu_percent: 0.5,
    rss_bytes: 3 * 1024 * 1024,
    ready: null,
    health: null,
    waiting_for: [],
    last_stderr: [],
    instance: null,
    ...over,
  } as Entry;
}

describe("reason: what the description adds to the other columns", () => {
  test.each([
    ["running, pid 1234, uptime 0:05:12", "RUNNING", ""],
    ["running, pid 1234, uptime 2 days, 3:12:44", "RUNNING", ""],
    ["starting", "STARTING", ""],
    ["backoff, exited with status 1, retrying in 3s", "BACKOFF", "retrying in 3s"],
    ["backoff, killed by SIGSEGV, retrying in 0s", "BACKOFF", "retrying in 0s"],
    ["backoff, not ready within 5s, retrying in 3s", "BACKOFF", "not ready within 5s, retrying in 3s"],
    ["stopping", "STOPPING", ""],
    ["stopping, memory limit: 612MB > 512MB", "STOPPING", "memory limit: 612MB > 512MB"],
    ["stopped, stopped manually", "STOPPED", "stopped manually"],
    ["stopped, not started", "STOPPED", "not started"],
    ["exited, exited with status 0", "EXITED", ""],
    ["exited, killed by SIGKILL", "EXITED", ""],
    ["fatal, command not found: foo", "FATAL", "command not found: foo"],
    ["fatal, gave up after 5 failed runs", "FATAL", "gave up after 5 failed runs"],
    ["waiting, for db (ready)", "WAITING", "for db (ready)"],
  ])("%s", (description, state, want) => {
    expect(reason(entry({ description, state }))).toBe(want);
  });

  test("a running one that is not ready or not healthy says so", () => {
    expect(reason(entry({ ready: false }))).toBe("not ready");
    expect(reason(entry({ health: "failing" }))).toBe("health failing");
  });
});

test("LAST-EXIT: code or signal and how long ago; - when it never exited", () => {
  expect(lastExit(entry({}), view)).toBe("-");
  expect(lastExit(entry({ last_exit_code: 1, exited_at: NOW / 1000 - 185 }), view)).toBe("1 (3m ago)");
  expect(lastExit(entry({ last_exit_code: 0, exited_at: NOW / 1000 - 4 }), view)).toBe("0 (4s ago)");
  expect(lastExit(entry({ last_exit_signal: "SIGKILL", exited_at: NOW / 1000 - 7300 }), view)).toBe("SIGKILL (2h ago)");
  expect(formatSpan(3 * 86400 + 5)).toBe("3d");
});

describe("isWanted (exit 4 otherwise)", () => {
  test.each([
    [{}, true],
    [{ ready: false }, false],
    [{ ready: true, health: "ok" }, true],
    [{ health: "failing" }, false],
    [{ state: "STOPPED", pid: null, manual_stop: true, description: "stopped, stopped manually" }, true],
    [{ state: "STOPPED", pid: null, description: "stopped, not started" }, true],
    [{ state: "EXITED", pid: null, last_exit_code: 0, description: "exited, exited with status 0" }, true],
    [{ state: "EXITED", pid: null, last_exit_code: 3, description: "exited, exited with status 3" }, false],
    [{ state: "EXITED", pid: null, last_exit_code: 3, success_exit_codes: [0, 3], description: "exited, exited with status 3" }, true],
    [{ state: "EXITED", pid: null, last_exit_signal: "SIGKILL", description: "exited, killed by SIGKILL" }, false],
    [{ state: "FATAL", pid: null, description: "fatal, command not found: x" }, false],
    [{ state: "BACKOFF", pid: null, description: "backoff, exited with status 1, retrying in 3s" }, false],
    [{ state: "STARTING", description: "starting" }, false],
    [{ state: "STOPPING", manual_stop: true, description: "stopping" }, false],
    [{ state: "WAITING", pid: null, description: "waiting, for db (ready)" }, false],
  ] as [Partial<Entry>, boolean][])("%j -> %p", (over, want) => {
    expect(isWanted(entry(over))).toBe(want);
  });
});

test("the table: REASON only when a row has one; colour only when asked", () => {
  const plain = table([entry({})], view);
  expect(plain).toBe("NAME  STATE    PID   UPTIME   RESTARTS  LAST-EXIT  CPU   RSS\nweb   RUNNING  1234  0:05:12  0         -          0.5%  3.0M\n");
  const two = table([entry({}), entry({ name: "crash", state: "BACKOFF", pid: null, uptime: null, cpu_percent: null, rss_bytes: null, last_exit_code: 1, exited_at: NOW / 1000 - 2, restart_count: 4, description: "backoff, exited with status 1, retrying in 3s" })], { ...view, color: true });
  const rows = two.trimEnd().split("\n");
  expect(rows[0]).toEndWith("RSS   REASON");
  expect(rows[2]).toContain("\x1b[33mBACKOFF");
  expect(rows[2]).toEndWith("1 (2s ago)  -     -     retrying in 3s");
  expect(table([], view)).toEndWith("(no companions)\n");
});

test("detail: every key, human-formatted; last_stderr as indented lines", () => {
  const e = entry({ last_stderr: ["Traceback (most recent call last):", "ValueError: boom"] });
  const text = detail(e, view);
  for (const key of Object.keys(e)) expect(text).toMatch(new RegExp(`^${key}\\b`, "m"));
  expect(text).toMatch(/^state +RUNNING$/m);
  expect(text).toMatch(/^rss_bytes +3\.0M \(3145728 bytes\)$/m);
  expect(text).toMatch(/^manual_stop +no$/m);
  expect(text).toMatch(/^started_at +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(5m ago\)$/m);
  expect(text).toEndWith("last_stderr (2 lines):\n  | Traceback (most recent call last):\n  | ValueError: boom\n");
  expect(detail(entry({}), view)).toMatch(/^last_stderr +-$/m);
});

test("the line of a waited start / stop / restart", () => {
  expect(outcome("start", "web", { ok: true, message: "web started" })).toEqual({ ok: true, text: "web: started" });
  expect(outcome("start", "web", { ok: true, message: "web already running" })).toEqual({ ok: true, text: "web: already running" });
  expect(outcome("restart", "web", { ok: true, message: "web restarted" })).toEqual({ ok: true, text: "web: restarted" });
  expect(outcome("restart", "web", { ok: true, message: "web started" })).toEqual({ ok: true, text: "web: restarted" });
  expect(outcome("stop", "web", { ok: true, message: "web stopped" })).toEqual({ ok: true, text: "web: stopped" });
  expect(outcome("start", "typo", { ok: false, code: "FAILED", message: "typo: command not found: pyhton3" })).toEqual({ ok: false, text: "typo: ERROR (command not found: pyhton3)" });
  expect(outcome("start", "web", { ok: false, code: "TIMEOUT", message: "web: still STARTING after 6s" })).toEqual({ ok: false, text: "web: TIMEOUT (still STARTING after 6s)" });
  expect(outcome("stop", "nope", { ok: false, code: "BAD_NAME", message: "unknown companion nope" })).toEqual({ ok: false, text: "nope: ERROR (unknown companion nope)" });
});
