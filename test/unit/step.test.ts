// Table-driven tests of the pure state machine: one case per (state, event) cell of `table`,
// plus the multi-step stories of contract §4. No host, no clock: `now` is passed in.
import { describe as group, expect, test } from "bun:test";
import type { CompanionSpec } from "../../src/config/schema.ts";
import { newCompanion, step, table } from "../../src/core/step.ts";
import { STATES, type Clock, type Companion, type Effect, type Event, type EventType, type Reply, type State } from "../../src/core/types.ts";
import { WALL_OFFSET } from "../helpers/fake-host.ts";
import { makeSpec } from "../helpers/specs.ts";

const at = (mono: number): Clock => ({ mono, wall: WALL_OFFSET + mono });

// distinct values everywhere, so a test can tell which setting a transition used; fixed backoff
// keeps the cells' delays plain (exponential, the default, has its own stories below)
const BASE = { startsecs: 1, restart: "always", restart_delay: 2, backoff: "fixed", stop_signal: "SIGINT", stop_timeout: 10, reload_timeout: 5 };
const SPEC = makeSpec("web", BASE);
const SPEC_NEVER = makeSpec("web", { ...BASE, restart: "never" });
const NEW_SPEC = makeSpec("web", { ...BASE, restart_delay: 7, stop_signal: "SIGUSR1", reload_timeout: 9 });

const EVENT_TYPES: EventType[] = ["start", "stop", "restart", "kill", "changed", "spawned", "spawnFailed", "exited", "deadline", "deps", "ready", "unready", "health", "status", "probed"];
const DB = [{ name: "db", condition: "ready" as const }];
const READY_SPEC = makeSpec("web", { ...BASE, ready: { tcp: 8000, within: 5 }, health: { tcp: 8000, failures: 2 } });

/** apply events in order, each at its own time */
function drive(c: Companion, ...steps: [Event, number][]): Companion {
  for (const [ev, mono] of steps) c = step(c, ev, at(mono)).next;
  return c;
}

/** every effect but the log lines */
const acts = (effects: Effect[]): Effect[] => effects.filter((e) => e.type !== "log");
const exited = (pid: number, code: number | null, signal: string | null = null): Event => ({ type: "exited", pid, code, signal });

// ---------- one realistic companion per state, reached by driving step itself

const fixtures: Record<State, () => Companion> = {
  /** never started */
  STOPPED: () => newCompanion(SPEC),
  /** started at 0 while db was not ready */
  WAITING: () => drive(newCompanion(SPEC), [{ type: "start", unmet: DB }, 0]),
  /** spawned as pid 100 at 0: promotion due at 1000 */
  STARTING: () => drive(newCompanion(SPEC), [{ type: "start" }, 0], [{ type: "spawned", pid: 100 }, 0]),
  /** crashed once (pid 99), retried, pid 100 RUNNING since 3500: stable at 4500; failures = 1 */
  RUNNING: () =>
    drive(
      newCompanion(SPEC),
      [{ type: "start" }, 0],
      [{ type: "spawned", pid: 99 }, 0],
      [exited(99, 1), 500],
      [{ type: "deadline" }, 2500],
      [{ type: "spawned", pid: 100 }, 2500],
      [{ type: "deadline" }, 3500],
    ),
  /** pid 99 exited with 1 at 500: retry due at 2500 */
  BACKOFF: () => drive(newCompanion(SPEC), [{ type: "start" }, 0], [{ type: "spawned", pid: 99 }, 0], [exited(99, 1), 500]),
  /** RUNNING pid 100 stopped by the operator at 4000: SIGKILL due at 14000 */
  STOPPING: () => drive(fixtures.RUNNING(), [{ type: "stop", kind: "manual" }, 4000]),
  /** restart = never; pid 100 ran and exited 0 at 5000 */
  EXITED: () =>
    drive(newCompanion(SPEC_NEVER), [{ type: "start" }, 0], [{ type: "spawned", pid: 100 }, 0], [{ type: "deadline" }, 1000], [exited(100, 0), 5000]),
  /** the very first spawn failed */
  FATAL: () => drive(newCompanion(SPEC), [{ type: "start" }, 0], [{ type: "spawnFailed", reason: "command not found: prog" }, 0]),
};

// the fixtures are what they claim to be
test.each(STATES.map((s) => [s]))("fixture %s is in its state", (s) => {
  const c = fixtures[s]();
  expect(c.state).toBe(s);
});

interface Case {
  from: State;
  event: Event;
  /** a variant: label and a tweak of the fixture */
  variant?: string;
  setup?: (c: Companion) => Companion;
  now: number;
  to: State;
  fields?: Partial<Companion>;
  /** every effect except log lines, exactly */
  effects?: Effect[];
  reply?: Reply;
  /** a warning log and nothing else changes */
  warning?: boolean;
  /** extra log lines (regexps) besides the transition log */
  logs?: RegExp[];
  /** the whole record is kept as it was */
  same?: boolean;
}

const started = (c: Companion): Reply => ({ ok: true, message: `${c.name} started` });
const spawnOf = (spec: CompanionSpec): Effect => ({ type: "spawn", spec });
const sig = (pid: number, signal: string): Effect => ({ type: "signal", pid, signal, group: true });
const stray = (pid: number): Partial<Case> => ({ same: true, effects: [sig(pid, "SIGKILL")], logs: [/^warning: web: unexpected process 777 in \w+, killing it$/] });

/** the cells every "down" state (STOPPED, EXITED, FATAL) shares */
function downCells(from: "STOPPED" | "EXITED" | "FATAL", ranBefore: boolean): Case[] {
  const before = fixtures[from]();
  return [
    {
      from,
      event: { type: "start" },
      now: 60_000,
      to: "STARTING",
      // a manual start never counts as a restart
      fields: { manualStop: false, pid: null, deadline: null, restartCount: 0, restartPending: false },
      effects: [spawnOf(before.spec)],
      reply: { ok: true, message: "web started" },
    },
    {
      from,
      event: { type: "start" },
      variant: "after a manual stop",
      setup: (c) => ({ ...c, manualStop: true }),
      now: 60_000,
      to: "STARTING",
      fields: { manualStop: false },
      effects: [spawnOf(before.spec)],
      reply: { ok: true, message: "web started" },
    },
    {
      from,
      event: { type: "stop", kind: "manual" },
      now: 60_000,
      to: from,
      fields: { manualStop: true, pid: null, deadline: null },
      reply: { ok: true, message: "web already stopped" },
    },
    {
      from,
      event: { type: "restart" },
      now: 60_000,
      to: "STARTING",
      // counted only when there was an earlier run
      fields: { manualStop: false, restartCount: ranBefore ? 1 : 0 },
      effects: [spawnOf(before.spec)],
      reply: { ok: true, message: "web started" },
    },
    { from, event: { type: "kill" }, now: 60_000, to: from, fields: { manualStop: true, pid: null } },
    {
      from,
      event: { type: "changed", spec: NEW_SPEC },
      now: 60_000,
      to: "STARTING",
      fields: { spec: NEW_SPEC, restartCount: ranBefore ? 1 : 0 },
      effects: [spawnOf(NEW_SPEC)],
    },
    {
      from,
      event: { type: "changed", spec: NEW_SPEC },
      variant: "manually stopped: keeps the new config, stays down",
      setup: (c) => ({ ...c, manualStop: true }),
      now: 60_000,
      to: from,
      fields: { spec: NEW_SPEC, manualStop: true, restartCount: 0 },
    },
    { from, event: { type: "spawned", pid: 777 }, now: 60_000, to: from, fields: { pid: null }, ...stray(777) },
    { from, event: { type: "spawnFailed", reason: "boom" }, now: 60_000, to: from, warning: true },
    { from, event: exited(100, 0), variant: "a late exit", now: 60_000, to: from, fields: { exitCount: before.exitCount, pid: null }, warning: true },
    { from, event: { type: "deadline" }, now: 60_000, to: from, same: true },
  ];
}

/** STARTING and RUNNING share stop/restart/kill/changed */
function upCells(from: "STARTING" | "RUNNING", now: number): Case[] {
  return [
    {
      from,
      event: { type: "stop", kind: "manual" },
      now,
      to: "STOPPING",
      fields: { manualStop: true, restartPending: false, pid: 100, deadline: now + 10_000, killed: false },
      effects: [sig(100, "SIGINT")],
      reply: { ok: true, message: "web stopping" },
    },
    {
      from,
      event: { type: "restart" },
      now,
      to: "STOPPING",
      // the stop of a restart uses reload_timeout (5 s), not stop_timeout (10 s)
      fields: { manualStop: false, restartPending: true, pid: 100, deadline: now + 5_000 },
      effects: [sig(100, "SIGINT")],
      reply: { ok: true, message: "web restarting" },
    },
    {
      from,
      event: { type: "kill" },
      now,
      to: "STOPPING",
      fields: { manualStop: true, killed: true, pid: 100, restartPending: false },
      effects: [sig(100, "SIGKILL")],
    },
    {
      from,
      event: { type: "changed", spec: NEW_SPEC },
      now,
      to: "STOPPING",
      // the old process stops under the settings it was started with; the new spec takes over
      fields: { spec: NEW_SPEC, restartPending: true, manualStop: false, pid: 100, deadline: now + 5_000 },
      effects: [sig(100, "SIGINT")],
    },
  ];
}

const cases: Case[] = [
  // ---- STOPPED, EXITED, FATAL
  ...downCells("STOPPED", false),
  ...downCells("EXITED", true),
  ...downCells("FATAL", false),

  // ---- BACKOFF (pid 99 exited 1 at 500, retry at 2500)
  {
    from: "BACKOFF",
    event: { type: "start" },
    now: 1000,
    to: "STARTING",
    fields: { manualStop: false, restartCount: 0, deadline: null, nextRetryAt: null, retryDelayMs: null },
    effects: [spawnOf(SPEC)],
    reply: { ok: true, message: "web started" },
  },
  {
    from: "BACKOFF",
    event: { type: "stop", kind: "manual" },
    now: 1000,
    to: "STOPPED",
    fields: { manualStop: true, deadline: null, nextRetryAt: null, retryDelayMs: null, reason: "stopped manually" },
    reply: { ok: true, message: "web stopped" },
  },
  {
    from: "BACKOFF",
    event: { type: "restart" },
    now: 1000,
    to: "STARTING",
    fields: { manualStop: false, restartCount: 1, deadline: null, nextRetryAt: null },
    effects: [spawnOf(SPEC)],
    reply: { ok: true, message: "web started" },
  },
  { from: "BACKOFF", event: { type: "kill" }, now: 1000, to: "STOPPED", fields: { manualStop: true, deadline: null, nextRetryAt: null } },
  {
    from: "BACKOFF",
    event: { type: "changed", spec: NEW_SPEC },
    now: 1000,
    to: "STARTING",
    fields: { spec: NEW_SPEC, restartCount: 1, deadline: null },
    effects: [spawnOf(NEW_SPEC)],
  },
  { from: "BACKOFF", event: { type: "spawned", pid: 777 }, now: 1000, to: "BACKOFF", fields: { pid: null, deadline: 2500 }, ...stray(777) },
  { from: "BACKOFF", event: { type: "spawnFailed", reason: "boom" }, now: 1000, to: "BACKOFF", fields: { deadline: 2500 }, warning: true },
  { from: "BACKOFF", event: exited(99, 1), variant: "a duplicate exit", now: 1000, to: "BACKOFF", fields: { exitCount: 1, deadline: 2500 }, warning: true },
  {
    from: "BACKOFF",
    event: { type: "deadline" },
    now: 2500,
    to: "STARTING",
    fields: { restartCount: 1, deadline: null, nextRetryAt: null, retryDelayMs: null },
    effects: [spawnOf(SPEC)],
    logs: [],
  },
  { from: "BACKOFF", event: { type: "deadline" }, variant: "1 ms early", now: 2499, to: "BACKOFF", same: true },

  // ---- STARTING (pid 100 spawned at 0, promotion at 1000)
  { from: "STARTING", event: { type: "start" }, now: 400, to: "STARTING", same: true, reply: { ok: true, message: "web already starting" } },
  ...upCells("STARTING", 400),
  { from: "STARTING", event: { type: "spawned", pid: 777 }, variant: "a second process", now: 400, to: "STARTING", fields: { pid: 100 }, ...stray(777) },
  {
    from: "STARTING",
    event: { type: "spawned", pid: 100 },
    variant: "the spawn it asked for",
    setup: (c) => drive(newCompanion(c.spec), [{ type: "start" }, 0]),
    now: 400,
    to: "STARTING",
    fields: { pid: 100, deadline: 1400, startedAt: WALL_OFFSET + 400, startedMono: 400, hasRun: true },
  },
  {
    from: "STARTING",
    event: { type: "spawnFailed", reason: "command not found: prog" },
    setup: (c) => drive(newCompanion(c.spec), [{ type: "start" }, 0]),
    now: 400,
    to: "FATAL",
    fields: { reason: "command not found: prog", pid: null, deadline: null },
    effects: [{ type: "ended", final: "FATAL", code: 1 }],
  },
  {
    from: "STARTING",
    event: exited(100, 1),
    now: 400,
    to: "BACKOFF",
    fields: { pid: null, failures: 1, deadline: 2400, retryDelayMs: 2000, nextRetryAt: WALL_OFFSET + 2400, exitCount: 1, lastExitCode: 1, lastExitSignal: null, exitedAt: WALL_OFFSET + 400 },
  },
  { from: "STARTING", event: exited(555, 1), variant: "exit of another pid", now: 400, to: "STARTING", fields: { pid: 100, exitCount: 0 }, warning: true },
  { from: "STARTING", event: { type: "deadline" }, now: 1000, to: "RUNNING", fields: { pid: 100, deadline: 2000, reason: "running" } },
  { from: "STARTING", event: { type: "deadline" }, variant: "1 ms early", now: 999, to: "STARTING", same: true },

  // ---- RUNNING (pid 100 since 2500, RUNNING since 3500, stable at 4500, failures 1)
  { from: "RUNNING", event: { type: "start" }, now: 4000, to: "RUNNING", same: true, reply: { ok: true, message: "web already running" } },
  ...upCells("RUNNING", 4000),
  { from: "RUNNING", event: { type: "spawned", pid: 777 }, now: 4000, to: "RUNNING", fields: { pid: 100 }, ...stray(777) },
  { from: "RUNNING", event: { type: "spawnFailed", reason: "boom" }, now: 4000, to: "RUNNING", fields: { pid: 100 }, warning: true },
  {
    from: "RUNNING",
    event: exited(100, null, "SIGSEGV"),
    now: 4000,
    to: "BACKOFF",
    fields: { pid: null, failures: 2, deadline: 6000, exitCount: 2, lastExitCode: null, lastExitSignal: "SIGSEGV", reason: "killed by SIGSEGV" },
  },
  {
    from: "RUNNING",
    event: exited(100, 0),
    variant: "after a manual stop",
    setup: (c) => ({ ...c, manualStop: true }),
    now: 4000,
    to: "STOPPED",
    fields: { pid: null, reason: "stopped manually", exitCount: 2 },
  },
  {
    from: "RUNNING",
    event: exited(100, 0),
    variant: "with a restart pending",
    setup: (c) => ({ ...c, restartPending: true }),
    now: 4000,
    to: "STARTING",
    fields: { pid: null, restartPending: false, restartCount: 2, exitCount: 2 },
    effects: [spawnOf(SPEC)],
  },
  {
    from: "RUNNING",
    event: exited(100, 1),
    variant: "after its stable window",
    setup: (c) => drive(c, [{ type: "deadline" }, 4500]),
    now: 90_000,
    to: "BACKOFF",
    // a stable run's end is retried at once and is no failed run
    fields: { pid: null, failures: 0, stable: false, deadline: 90_000, retryDelayMs: 0, nextRetryAt: WALL_OFFSET + 90_000, exitCount: 2 },
  },
  {
    from: "RUNNING",
    event: exited(100, 1),
    variant: "the max_restarts-th failed run",
    setup: (c) => ({ ...c, spec: makeSpec("web", { ...BASE, max_restarts: 2 }) }),
    now: 4000,
    to: "FATAL",
    fields: { pid: null, failures: 2, deadline: null, reason: "gave up after 2 failed runs", lastExitCode: 1, exitCount: 2 },
    effects: [{ type: "ended", final: "FATAL", code: 1 }],
  },
  { from: "RUNNING", event: exited(99, 1), variant: "a late exit of the old pid", now: 4000, to: "RUNNING", fields: { pid: 100, exitCount: 1 }, warning: true },
  { from: "RUNNING", event: { type: "deadline" }, now: 4500, to: "RUNNING", fields: { failures: 0, stable: true, deadline: null, pid: 100 } },
  { from: "RUNNING", event: { type: "deadline" }, variant: "1 ms early", now: 4499, to: "RUNNING", same: true },

  // ---- STOPPING (pid 100, stopped manually at 4000, SIGKILL due at 14000)
  { from: "STOPPING", event: { type: "start" }, now: 5000, to: "STOPPING", same: true, reply: { ok: false, message: "web is stopping; retry", code: "STOPPING" } },
  {
    from: "STOPPING",
    event: { type: "stop", kind: "manual" },
    now: 5000,
    to: "STOPPING",
    fields: { manualStop: true, restartPending: false, deadline: 14_000 },
    reply: { ok: true, message: "web already stopping" },
  },
  { from: "STOPPING", event: { type: "restart" }, now: 5000, to: "STOPPING", same: true, reply: { ok: false, message: "web is stopping; retry", code: "STOPPING" } },
  { from: "STOPPING", event: { type: "kill" }, now: 5000, to: "STOPPING", fields: { killed: true, manualStop: true }, effects: [sig(100, "SIGKILL")] },
  { from: "STOPPING", event: { type: "changed", spec: NEW_SPEC }, now: 5000, to: "STOPPING", fields: { spec: NEW_SPEC, restartPending: false, manualStop: true, deadline: 14_000 } },
  { from: "STOPPING", event: { type: "spawned", pid: 777 }, now: 5000, to: "STOPPING", fields: { pid: 100 }, ...stray(777) },
  { from: "STOPPING", event: { type: "spawnFailed", reason: "boom" }, now: 5000, to: "STOPPING", fields: { pid: 100 }, warning: true },
  {
    from: "STOPPING",
    event: exited(100, null, "SIGINT"),
    now: 5000,
    to: "STOPPED",
    fields: { pid: null, deadline: null, reason: "stopped manually", manualStop: true, exitCount: 2, lastExitSignal: "SIGINT" },
  },
  { from: "STOPPING", event: exited(555, 0), variant: "exit of another pid", now: 5000, to: "STOPPING", fields: { pid: 100, exitCount: 1 }, warning: true },
  {
    from: "STOPPING",
    event: { type: "deadline" },
    now: 14_000,
    to: "STOPPING",
    fields: { killed: true, deadline: null, pid: 100 },
    effects: [sig(100, "SIGKILL")],
    logs: [/^web: still running after stop timeout, sending SIGKILL to group 100$/],
  },
  { from: "STOPPING", event: { type: "deadline" }, variant: "1 ms early", now: 13_999, to: "STOPPING", same: true },

  // ---- WAITING (started at 0, db not ready)
  { from: "WAITING", event: { type: "start" }, now: 100, to: "WAITING", same: true, reply: { ok: true, message: "web already waiting" } },
  { from: "WAITING", event: { type: "restart" }, now: 100, to: "WAITING", same: true, reply: { ok: true, message: "web already waiting" } },
  { from: "WAITING", event: { type: "stop", kind: "manual" }, now: 100, to: "STOPPED", fields: { manualStop: true, waitingFor: [], reason: "stopped manually" }, reply: { ok: true, message: "web stopped" } },
  { from: "WAITING", event: { type: "stop", kind: "remove" }, variant: "removed", now: 100, to: "STOPPED", fields: { removed: true }, effects: [{ type: "gone" }], reply: { ok: true, message: "web stopped" } },
  { from: "WAITING", event: { type: "kill" }, now: 100, to: "STOPPED", fields: { manualStop: true, waitingFor: [] } },
  { from: "WAITING", event: { type: "changed", spec: NEW_SPEC }, now: 100, to: "WAITING", fields: { spec: NEW_SPEC, waitingFor: DB } },
  { from: "WAITING", event: { type: "spawned", pid: 777 }, now: 100, to: "WAITING", fields: { pid: null }, ...stray(777) },
  { from: "WAITING", event: { type: "spawnFailed", reason: "boom" }, now: 100, to: "WAITING", warning: true },
  { from: "WAITING", event: exited(100, 0), now: 100, to: "WAITING", warning: true },
  { from: "WAITING", event: { type: "deadline" }, now: 100, to: "WAITING", same: true },
  // a manual start from WAITING never counts as a restart
  { from: "WAITING", event: { type: "deps", unmet: [] }, now: 100, to: "STARTING", fields: { waitingFor: [], restartCount: 0 }, effects: [spawnOf(SPEC)] },
  { from: "WAITING", event: { type: "deps", unmet: [{ name: "db", condition: "completed" }] }, variant: "still unmet", now: 100, to: "WAITING", fields: { waitingFor: [{ name: "db", condition: "completed" }], reason: "for db (completed)" } },
  ...(["ready", "unready", "health", "status"] as const).map((t): Case => ({ from: "WAITING", event: probeEvent(t, 100), now: 100, to: "WAITING", same: true })),

  // ---- starts from down with unmet dependencies wait
  ...(["STOPPED", "EXITED", "FATAL", "BACKOFF"] as const).flatMap((from): Case[] => [
    { from, event: { type: "start", unmet: DB }, variant: "db not ready", now: 60_000, to: "WAITING", fields: { waitingFor: DB, pid: null, deadline: null, manualStop: false, reason: "for db (ready)" }, reply: { ok: true, message: "web waiting for db (ready)" } },
    { from, event: { type: "restart", unmet: DB }, variant: "db not ready", now: 60_000, to: "WAITING", fields: { waitingFor: DB }, reply: { ok: true, message: "web waiting for db (ready)" } },
  ]),

  // ---- a failed ready probe: remembered while STARTING (the reason if it is never ready), ignored elsewhere
  ...(["STOPPED", "WAITING", "EXITED", "FATAL", "BACKOFF", "RUNNING", "STOPPING"] as const).map((from): Case => ({ from, event: { type: "probed", pid: 100, detail: "connection refused" }, now: 5000, to: from, same: true })),
  { from: "STARTING", event: { type: "probed", pid: 100, detail: "tcp 127.0.0.1:8000: connection refused" }, now: 300, to: "STARTING", fields: { lastProbe: "tcp 127.0.0.1:8000: connection refused" } },
  {
    from: "STARTING",
    event: { type: "deadline" },
    variant: "not ready within 5 s, after a failed probe",
    setup: () => drive(newCompanion(READY_SPEC), [{ type: "start" }, 0], [{ type: "spawned", pid: 100 }, 0], [{ type: "probed", pid: 100, detail: "tcp 127.0.0.1:8000: connection refused" }, 10]),
    now: 5000,
    to: "STOPPING",
    fields: { failedStart: "not ready within 5s (tcp 127.0.0.1:8000: connection refused)" },
    effects: [sig(100, "SIGINT")],
  },

  // ---- probe results, sd_notify and dependency updates where no run listens: nothing changes
  ...(["STOPPED", "EXITED", "FATAL", "BACKOFF"] as const).flatMap((from) =>
    (["deps", "ready", "unready", "health", "status"] as const).map((t): Case => ({ from, event: t === "deps" ? { type: "deps", unmet: [] } : probeEvent(t, 100), now: 60_000, to: from, same: true })),
  ),
  ...(["STARTING", "RUNNING", "STOPPING"] as const).map((from): Case => ({ from, event: { type: "deps", unmet: [] }, now: 5000, to: from, same: true })),
  // STARTING: ready -> RUNNING (with a check), the rest is ignored
  {
    from: "STARTING",
    event: { type: "ready", pid: 100, detail: "tcp 127.0.0.1:8000" },
    setup: () => drive(newCompanion(READY_SPEC), [{ type: "start" }, 0], [{ type: "spawned", pid: 100 }, 0]),
    now: 300,
    to: "RUNNING",
    fields: { ready: true, deadline: 1300, reason: "running" },
  },
  { from: "STARTING", event: { type: "ready", pid: 100, detail: "x" }, variant: "no ready check (startsecs decides)", now: 300, to: "STARTING", same: true },
  { from: "STARTING", event: { type: "ready", pid: 99, detail: "x" }, variant: "an old run's probe", setup: () => drive(newCompanion(READY_SPEC), [{ type: "start" }, 0], [{ type: "spawned", pid: 100 }, 0]), now: 300, to: "STARTING", same: true },
  { from: "STARTING", event: { type: "unready", pid: 100 }, now: 300, to: "STARTING", same: true },
  { from: "STARTING", event: { type: "health", pid: 100, ok: false, detail: "x" }, now: 300, to: "STARTING", same: true },
  { from: "STARTING", event: { type: "status", pid: 100, text: "loading 3/7" }, now: 300, to: "STARTING", fields: { notifyStatus: "loading 3/7" } },
  {
    from: "STARTING",
    event: { type: "deadline" },
    variant: "not ready within 5 s",
    setup: () => drive(newCompanion(READY_SPEC), [{ type: "start" }, 0], [{ type: "spawned", pid: 100 }, 0]),
    now: 5000,
    to: "STOPPING",
    fields: { failedStart: "not ready within 5s (tcp 127.0.0.1:8000)", deadline: 15_000, manualStop: false },
    effects: [sig(100, "SIGINT")],
  },
  // RUNNING: RELOADING=1 / READY=1, health, STATUS=
  { from: "RUNNING", event: { type: "unready", pid: 100 }, variant: "no ready check", now: 4000, to: "RUNNING", same: true },
  { from: "RUNNING", event: { type: "unready", pid: 100 }, setup: (c) => ({ ...c, spec: READY_SPEC, ready: true }), now: 4000, to: "RUNNING", fields: { ready: false } },
  { from: "RUNNING", event: { type: "ready", pid: 100, detail: "READY=1" }, setup: (c) => ({ ...c, spec: READY_SPEC, ready: false }), now: 4000, to: "RUNNING", fields: { ready: true } },
  { from: "RUNNING", event: { type: "status", pid: 100, text: "serving" }, now: 4000, to: "RUNNING", fields: { notifyStatus: "serving" } },
  { from: "RUNNING", event: { type: "health", pid: 100, ok: false, detail: "refused" }, variant: "no health check", now: 4000, to: "RUNNING", same: true },
  { from: "RUNNING", event: { type: "health", pid: 100, ok: false, detail: "refused" }, variant: "1st failure of 2", setup: (c) => ({ ...c, spec: READY_SPEC }), now: 4000, to: "RUNNING", fields: { healthFailures: 1, healthDetail: "refused" } },
  { from: "RUNNING", event: { type: "health", pid: 100, ok: true, detail: "ok" }, variant: "recovers", setup: (c) => ({ ...c, spec: READY_SPEC, healthFailures: 1, healthDetail: "refused" }), now: 4000, to: "RUNNING", fields: { healthFailures: 0, healthDetail: null } },
  {
    from: "RUNNING",
    event: { type: "health", pid: 100, ok: false, detail: "refused" },
    variant: "2nd failure of 2: restart",
    setup: (c) => ({ ...c, spec: READY_SPEC, healthFailures: 1 }),
    now: 4000,
    to: "STOPPING",
    fields: { restartPending: true, manualStop: false, deadline: 9000, reason: "unhealthy: refused (2 failed checks)" },
    effects: [sig(100, "SIGINT")],
  },
  // STOPPING: held stops, failed starts, and nothing else
  ...(["ready", "unready", "health"] as const).map((t): Case => ({ from: "STOPPING", event: probeEvent(t, 100), now: 5000, to: "STOPPING", same: true })),
  { from: "STOPPING", event: { type: "status", pid: 100, text: "draining" }, now: 5000, to: "STOPPING", fields: { notifyStatus: "draining" } },
  {
    from: "RUNNING",
    event: { type: "stop", kind: "shutdown", hold: true },
    variant: "held for its dependents",
    now: 4000,
    to: "STOPPING",
    fields: { held: true, deadline: null, manualStop: true, reason: "after its dependents" },
    reply: { ok: true, message: "web stopping" },
  },
  {
    from: "STOPPING",
    event: { type: "stop", kind: "shutdown" },
    variant: "a held stop goes out",
    setup: () => drive(fixtures.RUNNING(), [{ type: "stop", kind: "shutdown", hold: true }, 4000]),
    now: 6000,
    to: "STOPPING",
    fields: { held: false, deadline: 16_000, killed: false },
    effects: [sig(100, "SIGINT")],
    reply: { ok: true, message: "web stopping" },
    logs: [/^web: no companion that depends on it is still stopping; sending SIGINT$/],
  },
  {
    from: "STOPPING",
    event: exited(100, null, "SIGINT"),
    variant: "not ready in time: a failed run",
    setup: () => drive(newCompanion(READY_SPEC), [{ type: "start" }, 0], [{ type: "spawned", pid: 100 }, 0], [{ type: "deadline" }, 5000]),
    now: 5100,
    to: "BACKOFF",
    fields: { failures: 1, failedStart: null, deadline: 7100, reason: "not ready within 5s (tcp 127.0.0.1:8000)" },
  },
];

function probeEvent(t: "ready" | "unready" | "health" | "status", pid: number): Event {
  if (t === "ready") return { type: "ready", pid, detail: "READY=1" };
  if (t === "unready") return { type: "unready", pid };
  if (t === "health") return { type: "health", pid, ok: false, detail: "refused" };
  return { type: "status", pid, text: "hello" };
}

function title(c: Case): string {
  return `${c.from} x ${c.event.type}${c.variant ? ` (${c.variant})` : ""} -> ${c.to}`;
}

group("step: every (state, event) cell", () => {
  test("the table has all 8 x 15 cells and the cases cover each of them", () => {
    expect(Object.keys(table).sort()).toEqual([...STATES].sort());
    for (const s of STATES) {
      expect(Object.keys(table[s]).sort()).toEqual([...EVENT_TYPES].sort());
      for (const e of EVENT_TYPES) {
        expect(typeof table[s][e]).toBe("function");
        expect(cases.some((c) => c.from === s && c.event.type === e)).toBe(true);
      }
    }
    expect(cases.length).toBeGreaterThanOrEqual(STATES.length * EVENT_TYPES.length);
  });

  test.each(cases.map((c) => [title(c), c] as const))("%s", (_title, c) => {
    const base = fixtures[c.from]();
    const before = c.setup ? c.setup(base) : base;
    const frozen = structuredClone(before);
    const r = step(before, c.event, at(c.now));

    // pure: the input record is not touched
    expect(before).toEqual(frozen);
    expect(r.next.state).toBe(c.to);
    if (c.fields) expect(r.next).toMatchObject(c.fields);
    expect(acts(r.effects)).toEqual(c.effects ?? []);
    expect(r.reply).toEqual(c.reply);

    const logs = r.effects.flatMap((e) => (e.type === "log" ? [e.message] : []));
    const want: RegExp[] = [];
    if (c.to !== before.state) want.push(new RegExp(`^web ${before.state} -> ${c.to} \\(.+\\)$`));
    if (c.warning) want.push(/^warning: web: ignored .+ in [A-Z]+$/);
    want.push(...(c.logs ?? []));
    expect(logs.length).toBe(want.length);
    want.forEach((re, i) => expect(logs[i]).toMatch(re));

    if (c.same || c.warning) {
      // an ignored event keeps the whole record
      expect(r.next).toEqual(before);
    }
  });
});

// ---------- stories across several steps

group("step: stories", () => {
  test("a stop sent during a pending restart wins", () => {
    let c = fixtures.RUNNING();
    const r1 = step(c, { type: "restart" }, at(4000));
    expect(r1.reply).toEqual({ ok: true, message: "web restarting" });
    expect(r1.next.restartPending).toBe(true);
    const r2 = step(r1.next, { type: "stop", kind: "manual" }, at(4100));
    expect(r2.reply).toEqual({ ok: true, message: "web already stopping" });
    expect(r2.next).toMatchObject({ state: "STOPPING", manualStop: true, restartPending: false });
    const r3 = step(r2.next, exited(100, null, "SIGINT"), at(4200));
    expect(r3.next).toMatchObject({ state: "STOPPED", pid: null, manualStop: true, reason: "stopped manually" });
    expect(r3.effects.some((e) => e.type === "spawn")).toBe(false);
    c = r3.next;
    expect(c.restartCount).toBe(1);
  });

  test("a restart pending: the exit of the old pid spawns at once, restart_count + 1, then the new pid counts", () => {
    const c0 = fixtures.RUNNING();
    expect(c0.restartCount).toBe(1);
    const stopping = step(c0, { type: "restart" }, at(4000)).next;
    const r = step(stopping, exited(100, null, "SIGINT"), at(4200));
    expect(r.next).toMatchObject({ state: "STARTING", pid: null, restartPending: false, restartCount: 2, exitCount: 2, manualStop: false });
    expect(acts(r.effects)).toEqual([spawnOf(SPEC)]);
    expect(r.effects[0]).toEqual({ type: "log", message: "web STOPPING -> STARTING (killed by SIGINT, pid 100)" });
    const up = step(r.next, { type: "spawned", pid: 101 }, at(4200)).next;
    expect(up).toMatchObject({ state: "STARTING", pid: 101, deadline: 5200 });
    // the late exit of the old pid changes nothing
    const late = step(up, exited(100, 0), at(4300));
    expect(late.next).toEqual(up);
  });

  test("exit after a manual stop ends in STOPPED, from STARTING too", () => {
    const stopping = step(fixtures.STARTING(), { type: "stop", kind: "manual" }, at(300)).next;
    const r = step(stopping, exited(100, 0), at(350));
    expect(r.next).toMatchObject({ state: "STOPPED", manualStop: true, pid: null, reason: "stopped manually" });
    expect(acts(r.effects)).toEqual([]);
  });

  test("a manual start does not count as a restart; BACKOFF retries and restart commands do", () => {
    let c = drive(newCompanion(SPEC_NEVER), [{ type: "start" }, 0]);
    expect(c.restartCount).toBe(0);
    c = drive(c, [{ type: "spawned", pid: 1 }, 0], [exited(1, 0), 100]);
    expect(c.state).toBe("EXITED");
    c = drive(c, [{ type: "start" }, 200], [{ type: "spawned", pid: 2 }, 200]);
    expect(c.restartCount).toBe(0);
    c = drive(c, [{ type: "restart" }, 300], [exited(2, 0), 300], [{ type: "spawned", pid: 3 }, 300]);
    expect(c.restartCount).toBe(1);

    let b = fixtures.BACKOFF();
    b = drive(b, [{ type: "start" }, 600]);
    expect(b).toMatchObject({ state: "STARTING", restartCount: 0 });
    b = drive(fixtures.BACKOFF(), [{ type: "deadline" }, 2500]);
    expect(b).toMatchObject({ state: "STARTING", restartCount: 1 });
  });

  test("exponential backoff: delays double per consecutive failure, capped, and reset after RUNNING + stable window", () => {
    const spec = makeSpec("web", { startsecs: 1, restart_delay: 1, backoff: "exponential", max_restart_delay: 10 });
    let c = drive(newCompanion(spec), [{ type: "start" }, 0]);
    let t = 0;
    let pid = 1;
    const delays: number[] = [];
    // crash at once, six times in a row
    for (let i = 0; i < 6; i++) {
      c = drive(c, [{ type: "spawned", pid }, t], [exited(pid, 1), t + 10]);
      expect(c.state).toBe("BACKOFF");
      delays.push(c.deadline! - (t + 10));
      expect(c.retryDelayMs).toBe(delays[i]!);
      t = c.deadline!;
      c = drive(c, [{ type: "deadline" }, t]);
      expect(c.state).toBe("STARTING");
      pid++;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(c.failures).toBe(6);

    // RUNNING but dies before the stable window ends: not forgiven
    c = drive(c, [{ type: "spawned", pid }, t], [{ type: "deadline" }, t + 1000]);
    expect(c).toMatchObject({ state: "RUNNING", deadline: t + 2000 });
    c = drive(c, [exited(pid, 1), t + 1999]);
    expect(c.retryDelayMs).toBe(10_000);
    expect(c.failures).toBe(7);
    t = c.deadline!;
    pid++;

    // RUNNING for startsecs more: failures reset; the end of this stable run is retried at once
    c = drive(c, [{ type: "deadline" }, t], [{ type: "spawned", pid }, t], [{ type: "deadline" }, t + 1000], [{ type: "deadline" }, t + 2000]);
    expect(c).toMatchObject({ state: "RUNNING", failures: 0, stable: true, deadline: null });
    c = drive(c, [exited(pid, 1), t + 60_000]);
    expect(c).toMatchObject({ state: "BACKOFF", failures: 0, retryDelayMs: 0, deadline: t + 60_000 });
    // the first failed run after it waits restart_delay, the next twice that
    c = drive(c, [{ type: "deadline" }, t + 60_000], [{ type: "spawned", pid: ++pid }, t + 60_000], [exited(pid, 1), t + 60_100]);
    expect(c).toMatchObject({ state: "BACKOFF", failures: 1, retryDelayMs: 1000, deadline: t + 61_100 });
    c = drive(c, [{ type: "deadline" }, t + 61_100], [{ type: "spawned", pid: ++pid }, t + 61_100], [exited(pid, 1), t + 61_200]);
    expect(c).toMatchObject({ state: "BACKOFF", failures: 2, retryDelayMs: 2000 });
  });

  test("startsecs = 0: RUNNING as soon as spawned; failures still reset only after the 1 s stable window", () => {
    const spec = makeSpec("web", { startsecs: 0, backoff: "exponential", restart_delay: 1 });
    let c = drive(newCompanion(spec), [{ type: "start" }, 0]);
    const r = step(c, { type: "spawned", pid: 1 }, at(0));
    expect(r.next).toMatchObject({ state: "RUNNING", pid: 1, deadline: 1000 });
    c = drive(r.next, [exited(1, 1), 500], [{ type: "deadline" }, 1500], [{ type: "spawned", pid: 2 }, 1500], [exited(2, 1), 2000]);
    expect(c).toMatchObject({ state: "BACKOFF", failures: 2, retryDelayMs: 2000 });
  });

  test("fixed backoff waits restart_delay every time", () => {
    let c = fixtures.BACKOFF();
    expect(c.retryDelayMs).toBe(2000);
    c = drive(c, [{ type: "deadline" }, 2500], [{ type: "spawned", pid: 5 }, 2500], [exited(5, 1), 2600]);
    expect(c).toMatchObject({ state: "BACKOFF", failures: 2, retryDelayMs: 2000, deadline: 4600 });
  });

  test("policy on-failure: exit 0 ends in EXITED, a non-zero exit or a signal backs off", () => {
    const spec = makeSpec("web", { restart: "on-failure" });
    const up = drive(newCompanion(spec), [{ type: "start" }, 0], [{ type: "spawned", pid: 1 }, 0]);
    const r0 = step(up, exited(1, 0), at(10));
    expect(r0.next.state).toBe("EXITED");
    expect(r0.next.reason).toBe("exited with status 0");
    expect(acts(r0.effects)).toEqual([{ type: "ended", final: "EXITED", code: 0 }]);
    expect(step(up, exited(1, 2), at(10)).next.state).toBe("BACKOFF");
    expect(step(up, exited(1, null, "SIGTERM"), at(10)).next.state).toBe("BACKOFF");
  });

  test("policy never: any exit ends in EXITED; always: even exit 0 backs off", () => {
    const never = drive(newCompanion(SPEC_NEVER), [{ type: "start" }, 0], [{ type: "spawned", pid: 1 }, 0]);
    expect(step(never, exited(1, 1), at(10)).next.state).toBe("EXITED");
    expect(step(never, exited(1, null, "SIGKILL"), at(10)).next.state).toBe("EXITED");
    const always = fixtures.STARTING();
    expect(step(always, exited(100, 0), at(10)).next.state).toBe("BACKOFF");
  });

  test("EXITED's ended code is the exit status, or 128 + the signal number", () => {
    const up = drive(newCompanion(SPEC_NEVER), [{ type: "start" }, 0], [{ type: "spawned", pid: 1 }, 0]);
    const endedOf = (ev: Event) => step(up, ev, at(10)).effects.filter((e) => e.type === "ended");
    expect(endedOf(exited(1, 3))).toEqual([{ type: "ended", final: "EXITED", code: 3 }]);
    expect(endedOf(exited(1, 0))).toEqual([{ type: "ended", final: "EXITED", code: 0 }]);
    expect(endedOf(exited(1, null, "SIGKILL"))).toEqual([{ type: "ended", final: "EXITED", code: 137 }]);
    expect(endedOf(exited(1, null, "SIGTERM"))).toEqual([{ type: "ended", final: "EXITED", code: 143 }]);
    const r = step(up, exited(1, null, "SIGKILL"), at(10));
    expect(r.next).toMatchObject({ reason: "killed by SIGKILL", lastExitCode: null, lastExitSignal: "SIGKILL" });
  });

  test("spawnFailed -> FATAL with the reason and ended code 1, but no ended after a manual stop", () => {
    const starting = drive(newCompanion(SPEC), [{ type: "start" }, 0]);
    const r = step(starting, { type: "spawnFailed", reason: "cwd not found: /nope" }, at(0));
    expect(r.next).toMatchObject({ state: "FATAL", reason: "cwd not found: /nope", pid: null });
    expect(r.effects).toEqual([
      { type: "log", message: "web STARTING -> FATAL (cwd not found: /nope)" },
      { type: "ended", final: "FATAL", code: 1 },
    ]);
    const manual = step({ ...starting, manualStop: true }, { type: "spawnFailed", reason: "x" }, at(0));
    expect(manual.next.state).toBe("FATAL");
    expect(manual.effects.filter((e) => e.type === "ended")).toEqual([]);
    // FATAL is final: nothing retries it
    expect(r.next.deadline).toBeNull();
  });

  test("a removed companion emits `gone` once its process is gone, not before", () => {
    const r1 = step(fixtures.RUNNING(), { type: "stop", kind: "remove" }, at(4000));
    expect(r1.next).toMatchObject({ state: "STOPPING", removed: true, manualStop: true });
    expect(acts(r1.effects)).toEqual([sig(100, "SIGINT")]);
    const r2 = step(r1.next, { type: "deadline" }, at(14_000));
    expect(r2.effects.some((e) => e.type === "gone")).toBe(false);
    const r3 = step(r2.next, exited(100, null, "SIGKILL"), at(14_001));
    expect(r3.next.state).toBe("STOPPED");
    expect(acts(r3.effects)).toEqual([{ type: "gone" }]);

    for (const s of ["STOPPED", "EXITED", "FATAL", "BACKOFF"] as const) {
      const r = step(fixtures[s](), { type: "stop", kind: "remove" }, at(1000));
      expect(r.next.removed).toBe(true);
      expect(acts(r.effects)).toEqual([{ type: "gone" }]);
    }
  });

  test("a removed name re-added while its old process drains starts only after that process exits", () => {
    const draining = step(fixtures.RUNNING(), { type: "stop", kind: "remove" }, at(4000)).next;
    const r1 = step(draining, { type: "changed", spec: NEW_SPEC }, at(4100));
    expect(r1.next).toMatchObject({ state: "STOPPING", removed: false, manualStop: false, restartPending: true, pid: 100, spec: NEW_SPEC });
    expect(r1.effects).toEqual([]);
    const r2 = step(r1.next, exited(100, 0), at(4200));
    expect(r2.next).toMatchObject({ state: "STARTING", pid: null });
    expect(acts(r2.effects)).toEqual([spawnOf(NEW_SPEC)]);
  });

  test("backoff is exponential by default: restart_delay x 2^(n-1), capped at max_restart_delay", () => {
    const spec = makeSpec("web", { restart_delay: 1, max_restart_delay: 5 });
    expect(spec.backoff).toBe("exponential");
    let c = drive(newCompanion(spec), [{ type: "start" }, 0]);
    const delays: number[] = [];
    for (let pid = 1, t = 0; pid <= 5; pid++) {
      c = drive(c, [{ type: "spawned", pid }, t], [exited(pid, 1), t + 10]);
      delays.push(c.retryDelayMs!);
      t = c.deadline!;
      c = drive(c, [{ type: "deadline" }, t]);
    }
    expect(delays).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  test("a stable run's end is retried at once; a crash loop is paced from its second failure on", () => {
    const spec = makeSpec("web", { startsecs: 2, restart_delay: 3, backoff: "fixed" });
    // RUNNING at 2000, stable at 4000 (startsecs more)
    let c = drive(newCompanion(spec), [{ type: "start" }, 0], [{ type: "spawned", pid: 1 }, 0], [{ type: "deadline" }, 2000]);
    expect(c).toMatchObject({ state: "RUNNING", deadline: 4000, stable: false });
    // dies 1 ms before the window ends: a failed run, restart_delay
    expect(step(c, exited(1, null, "SIGKILL"), at(3999)).next).toMatchObject({ state: "BACKOFF", failures: 1, retryDelayMs: 3000 });
    c = drive(c, [{ type: "deadline" }, 4000]);
    expect(c).toMatchObject({ state: "RUNNING", stable: true, deadline: null });
    // killed after hours: BACKOFF with no delay, due now
    const r = step(c, exited(1, null, "SIGKILL"), at(3_600_000));
    expect(r.next).toMatchObject({ state: "BACKOFF", failures: 0, retryDelayMs: 0, deadline: 3_600_000, nextRetryAt: WALL_OFFSET + 3_600_000 });
    c = drive(r.next, [{ type: "deadline" }, 3_600_000]);
    expect(c).toMatchObject({ state: "STARTING", restartCount: 1 });
    // the next run fails at once: restart_delay, as every further one (fixed)
    c = drive(c, [{ type: "spawned", pid: 2 }, 3_600_000], [exited(2, 1), 3_600_100]);
    expect(c).toMatchObject({ state: "BACKOFF", failures: 1, retryDelayMs: 3000, deadline: 3_603_100 });
  });

  test("max_restarts = 3: the third consecutive failed run ends FATAL, gave up after 3 failed runs", () => {
    const spec = makeSpec("web", { restart_delay: 1, max_restarts: 3 });
    let c = drive(newCompanion(spec), [{ type: "start" }, 0]);
    let t = 0;
    for (let pid = 1; pid <= 2; pid++) {
      c = drive(c, [{ type: "spawned", pid }, t], [exited(pid, 1), t + 10]);
      expect(c).toMatchObject({ state: "BACKOFF", failures: pid });
      t = c.deadline!;
      c = drive(c, [{ type: "deadline" }, t]);
    }
    c = drive(c, [{ type: "spawned", pid: 3 }, t]);
    const r = step(c, exited(3, 2), at(t + 10));
    expect(r.next).toMatchObject({ state: "FATAL", pid: null, deadline: null, failures: 3, reason: "gave up after 3 failed runs", lastExitCode: 2, exitCount: 3, restartCount: 2 });
    expect(r.effects).toEqual([
      { type: "log", message: "web STARTING -> FATAL (exited with status 2, pid 3; gave up after 3 failed runs)" },
      { type: "ended", final: "FATAL", code: 1 },
    ]);
    // FATAL is final: no timer retries it
    expect(step(r.next, { type: "deadline" }, at(t + 100_000)).effects).toEqual([]);
    // the operator's start gives it a fresh count: two more failed runs are paced, not fatal
    c = drive(r.next, [{ type: "start" }, t + 20], [{ type: "spawned", pid: 4 }, t + 20], [exited(4, 1), t + 30]);
    expect(c).toMatchObject({ state: "BACKOFF", failures: 1, retryDelayMs: 1000 });
  });

  test("max_restarts counts consecutive failed runs only: a stable run starts the count afresh; 0 never gives up", () => {
    const spec = makeSpec("web", { restart_delay: 1, max_restarts: 2, startsecs: 0 });
    let c = drive(newCompanion(spec), [{ type: "start" }, 0], [{ type: "spawned", pid: 1 }, 0], [exited(1, 1), 10]);
    expect(c).toMatchObject({ state: "BACKOFF", failures: 1 });
    // retried; this run is RUNNING at once and stable at 2010
    c = drive(c, [{ type: "deadline" }, 1010], [{ type: "spawned", pid: 2 }, 1010], [{ type: "deadline" }, 2010]);
    expect(c).toMatchObject({ state: "RUNNING", failures: 0, stable: true });
    c = drive(c, [exited(2, 1), 5000]);
    expect(c).toMatchObject({ state: "BACKOFF", failures: 0, retryDelayMs: 0 });
    c = drive(c, [{ type: "deadline" }, 5000], [{ type: "spawned", pid: 3 }, 5000], [exited(3, 1), 5010]);
    expect(c).toMatchObject({ state: "BACKOFF", failures: 1 });
    c = drive(c, [{ type: "deadline" }, 6010], [{ type: "spawned", pid: 4 }, 6010], [exited(4, 1), 6020]);
    expect(c).toMatchObject({ state: "FATAL", reason: "gave up after 2 failed runs" });

    let never = drive(newCompanion(makeSpec("web", { restart_delay: 0 })), [{ type: "start" }, 0]);
    for (let pid = 1; pid <= 50; pid++) never = drive(never, [{ type: "spawned", pid }, pid], [exited(pid, 1), pid], [{ type: "deadline" }, pid]);
    expect(never).toMatchObject({ state: "STARTING", failures: 50 });
  });

  test("success_exit_codes: on-failure does not restart after a listed code; fail-fast sees a clean end (code 0)", () => {
    const spec = makeSpec("web", { restart: "on-failure", success_exit_codes: [0, 3] });
    const up = drive(newCompanion(spec), [{ type: "start" }, 0], [{ type: "spawned", pid: 1 }, 0]);
    const r3 = step(up, exited(1, 3), at(10));
    expect(r3.next).toMatchObject({ state: "EXITED", lastExitCode: 3, reason: "exited with status 3" });
    expect(acts(r3.effects)).toEqual([{ type: "ended", final: "EXITED", code: 0 }]);
    expect(step(up, exited(1, 0), at(10)).next.state).toBe("EXITED");
    expect(step(up, exited(1, 1), at(10)).next.state).toBe("BACKOFF");
    expect(step(up, exited(1, null, "SIGTERM"), at(10)).next.state).toBe("BACKOFF");
    // 0 not listed: a failure like any other
    const only2 = drive(newCompanion(makeSpec("web", { restart: "on-failure", success_exit_codes: [2] })), [{ type: "start" }, 0], [{ type: "spawned", pid: 1 }, 0]);
    expect(step(only2, exited(1, 0), at(10)).next.state).toBe("BACKOFF");
    // restart = never: an unlisted code ends with its own status for fail-fast
    const never = drive(newCompanion(makeSpec("web", { restart: "never", success_exit_codes: [3] })), [{ type: "start" }, 0], [{ type: "spawned", pid: 1 }, 0]);
    expect(acts(step(never, exited(1, 3), at(10)).effects)).toEqual([{ type: "ended", final: "EXITED", code: 0 }]);
    expect(acts(step(never, exited(1, 0), at(10)).effects)).toEqual([{ type: "ended", final: "EXITED", code: 0 }]);
    expect(acts(step(never, exited(1, 4), at(10)).effects)).toEqual([{ type: "ended", final: "EXITED", code: 4 }]);
    expect(acts(step(never, exited(1, null, "SIGKILL"), at(10)).effects)).toEqual([{ type: "ended", final: "EXITED", code: 137 }]);
  });

  test("the transition log names FROM -> TO and the reason with exit status and pid", () => {
    const r = step(fixtures.RUNNING(), exited(100, 1), at(4000));
    expect(r.effects[0]).toEqual({ type: "log", message: "web RUNNING -> BACKOFF (exited with status 1, pid 100)" });
    const k = step(fixtures.RUNNING(), exited(100, null, "SIGKILL"), at(4000));
    expect(k.effects[0]).toEqual({ type: "log", message: "web RUNNING -> BACKOFF (killed by SIGKILL, pid 100)" });
  });
});
