// The status entry (contract §5): every key present, description strings per state.
import { expect, test } from "bun:test";
import { describe, formatUptime, shellJoin } from "../../src/core/describe.ts";
import { newCompanion, step } from "../../src/core/step.ts";
import type { Clock, Companion, Event } from "../../src/core/types.ts";
import { WALL_OFFSET } from "../helpers/fake-host.ts";
import { makeSpec } from "../helpers/specs.ts";

const at = (mono: number): Clock => ({ mono, wall: WALL_OFFSET + mono });
const SPEC = makeSpec("web", { command: "prog --port 80", startsecs: 1, restart_delay: 3 });

function drive(c: Companion, ...steps: [Event, number][]): Companion {
  for (const [ev, mono] of steps) c = step(c, ev, at(mono)).next;
  return c;
}

const KEYS = [
  "name",
  "state",
  "pid",
  "description",
  "started_at",
  "exited_at",
  "next_retry_at",
  "restart_delay",
  "last_exit_code",
  "last_exit_signal",
  "restart_count",
  "exit_count",
  "manual_stop",
  "command",
];

const fresh = () => newCompanion(SPEC);
const running = () => drive(fresh(), [{ type: "start" }, 0], [{ type: "spawned", pid: 1234 }, 0], [{ type: "deadline" }, 1000]);

test("a companion that was never started", () => {
  const e = describe(fresh(), at(5000));
  for (const k of KEYS) expect(e).toHaveProperty(k);
  expect(e).toMatchObject({
    name: "web",
    state: "STOPPED",
    pid: null,
    description: "stopped, not started",
    started_at: null,
    exited_at: null,
    next_retry_at: null,
    restart_delay: null,
    last_exit_code: null,
    last_exit_signal: null,
    restart_count: 0,
    exit_count: 0,
    manual_stop: false,
    command: "prog --port 80",
  });
});

test("every status key is present in every state, never undefined", () => {
  const states: Companion[] = [
    fresh(),
    drive(fresh(), [{ type: "start" }, 0]),
    running(),
    drive(running(), [{ type: "exited", pid: 1234, code: 1, signal: null }, 2000]),
    drive(running(), [{ type: "stop" }, 2000]),
    drive(running(), [{ type: "stop" }, 2000], [{ type: "exited", pid: 1234, code: 0, signal: null }, 2100]),
    drive(fresh(), [{ type: "start" }, 0], [{ type: "spawnFailed", reason: "command not found: prog" }, 0]),
  ];
  expect(new Set(states.map((c) => c.state)).size).toBe(6);
  for (const c of states) {
    const e = describe(c, at(3000)) as unknown as Record<string, unknown>;
    for (const k of KEYS) {
      expect(k in e).toBe(true);
      expect(e[k]).not.toBeUndefined();
    }
  }
});

test("RUNNING: pid and uptime h:mm:ss; started_at in epoch seconds", () => {
  const e = describe(running(), at(312_000));
  expect(e.description).toBe("running, pid 1234, uptime 0:05:12");
  expect(e.state).toBe("RUNNING");
  expect(e.pid).toBe(1234);
  expect(e.started_at).toBe((WALL_OFFSET + 0) / 1000);
  expect(e.exited_at).toBeNull();
  expect(e.uptime).toBe(312);
});

test("STARTING and STOPPING", () => {
  expect(describe(drive(fresh(), [{ type: "start" }, 0], [{ type: "spawned", pid: 7 }, 0]), at(500)).description).toBe("starting");
  const stopping = describe(drive(running(), [{ type: "stop" }, 2000]), at(2500));
  expect(stopping.description).toBe("stopping");
  expect(stopping.pid).toBe(1234);
  expect(stopping.manual_stop).toBe(true);
});

test("BACKOFF: the last exit, the whole seconds left (rounded down, as the original), the pending delay and retry time", () => {
  const c = drive(running(), [{ type: "exited", pid: 1234, code: 1, signal: null }, 10_000]);
  const e = describe(c, at(10_000));
  expect(e.description).toBe("backoff, exited with status 1, retrying in 3s");
  expect(e.restart_delay).toBe(3);
  expect(e.next_retry_at).toBe((WALL_OFFSET + 13_000) / 1000);
  expect(e.exited_at).toBe((WALL_OFFSET + 10_000) / 1000);
  expect(e.last_exit_code).toBe(1);
  expect(e.exit_count).toBe(1);
  expect(e.pid).toBeNull();
  expect(describe(c, at(11_001)).description).toBe("backoff, exited with status 1, retrying in 1s");
  expect(describe(c, at(10_001)).description).toBe("backoff, exited with status 1, retrying in 2s");
  expect(describe(c, at(12_999)).description).toBe("backoff, exited with status 1, retrying in 0s");
  expect(describe(c, at(13_000)).description).toBe("backoff, exited with status 1, retrying in 0s");
});

test("STOPPED after a manual stop", () => {
  const c = drive(running(), [{ type: "stop" }, 2000], [{ type: "exited", pid: 1234, code: null, signal: "SIGTERM" }, 2100]);
  const e = describe(c, at(3000));
  expect(e.description).toBe("stopped, stopped manually");
  expect(e).toMatchObject({ state: "STOPPED", pid: null, manual_stop: true, last_exit_signal: "SIGTERM", last_exit_code: null, restart_delay: null, next_retry_at: null });
});

test("EXITED: exit status or the signal that killed it", () => {
  const spec = makeSpec("job", { restart: "never" });
  const up = drive(newCompanion(spec), [{ type: "start" }, 0], [{ type: "spawned", pid: 5 }, 0]);
  expect(describe(drive(up, [{ type: "exited", pid: 5, code: 0, signal: null }, 10]), at(20)).description).toBe("exited, exited with status 0");
  const k = describe(drive(up, [{ type: "exited", pid: 5, code: null, signal: "SIGKILL" }, 10]), at(20));
  expect(k.description).toBe("exited, killed by SIGKILL");
  expect(k.last_exit_signal).toBe("SIGKILL");
  expect(k.restart_delay).toBeNull();
});

test("FATAL: the spawn failure's reason", () => {
  const c = drive(newCompanion(makeSpec("foo", { command: "foo" })), [{ type: "start" }, 0], [{ type: "spawnFailed", reason: "command not found: foo" }, 0]);
  const e = describe(c, at(10));
  expect(e.description).toBe("fatal, command not found: foo");
  expect(e.state).toBe("FATAL");
});

test("command: a string as written, an argv shell-quoted", () => {
  expect(describe(newCompanion(makeSpec("a", { command: "sleep 10 && echo hi" })), at(0)).command).toBe("sleep 10 && echo hi");
  expect(describe(newCompanion(makeSpec("a", { command: ["bun", "my worker.ts", "it's"] })), at(0)).command).toBe(`bun 'my worker.ts' 'it'\\''s'`);
  expect(shellJoin(["a", "b=c", "/x/y.z"])).toBe("a b=c /x/y.z");
});

test("formatUptime", () => {
  expect(formatUptime(0)).toBe("0:00:00");
  expect(formatUptime(59.9)).toBe("0:00:59");
  expect(formatUptime(312)).toBe("0:05:12");
  expect(formatUptime(3600 * 5 + 61)).toBe("5:01:01");
  // a day or more reads as the original's (Python's timedelta)
  expect(formatUptime(86_400)).toBe("1 day, 0:00:00");
  expect(formatUptime(86_400 + 3661)).toBe("1 day, 1:01:01");
  expect(formatUptime(2 * 86_400 + 3 * 3600 + 12 * 60 + 44)).toBe("2 days, 3:12:44");
  expect(formatUptime(86_399.9)).toBe("23:59:59");
  expect(formatUptime(-5)).toBe("0:00:00");
});
