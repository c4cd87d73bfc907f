// The companion state machine: step(companion, event, now) -> {next, effects, reply}.
// Pure: no clock, no I/O, no Bun. Every (state, event) cell is filled; an impossible pair
// (a late or duplicate exit, a stray timer) logs a warning and keeps the state.
import { signalNumber } from "../config/signals.ts";
import type { CompanionSpec, Dependency } from "../config/schema.ts";
import type { Clock, Companion, Effect, Event, EventType, Reply, State, StepResult } from "./types.ts";
import { isSuccess, retryDelayMs, shouldRestart, stableWindowMs } from "./policy.ts";

type Cell<E extends EventType> = (c: Companion, ev: Extract<Event, { type: E }>, now: Clock) => StepResult;
type Table = { [S in State]: { [E in EventType]: Cell<E> } };

export function newCompanion(spec: CompanionSpec): Companion {
  return {
    name: spec.name,
    spec,
    state: "STOPPED",
    pid: null,
    manualStop: false,
    restartPending: false,
    startPending: false,
    removed: false,
    deadline: null,
    killed: false,
    startedAt: null,
    startedMono: null,
    exitedAt: null,
    nextRetryAt: null,
    retryDelayMs: null,
    lastExitCode: null,
    lastExitSignal: null,
    restartCount: 0,
    exitCount: 0,
    failures: 0,
    stable: false,
    reason: "not started",
    hasRun: false,
    runs: 0,
    ...FRESH_RUN,
  };
}

/** what a new run starts without: nothing waited for, not ready, healthy, no STATUS=, no pending failure or held stop */
const FRESH_RUN = {
  waitingFor: [],
  lastProbe: null,
  ready: false,
  healthFailures: 0,
  healthDetail: null,
  notifyStatus: null,
  failedStart: null,
  held: false,
} as const satisfies Partial<Companion>;

/** "db (ready), migrate (completed)" */
export function depText(deps: readonly Dependency[]): string {
  return deps.map((d) => `${d.name} (${d.condition}${d.why ? `; ${d.why}` : ""})`).join(", ");
}

/** the check a probe stands for, in the log's words: "tcp 127.0.0.1:5432", "READY=1" */
export function probeText(spec: CompanionSpec): string {
  const p = spec.ready?.probe;
  if (!p) return "";
  switch (p.kind) {
    case "notify":
      return "READY=1";
    case "fd":
      return `a line on fd ${p.fd}`;
    case "tcp":
      return `tcp ${p.host}:${p.port}`;
    case "http":
      return `http ${p.url}`;
    case "exec":
      return `exec ${p.argv.join(" ")}`;
    case "log":
      return `log /${p.pattern}/`;
    case "watchdog":
      return "watchdog";
  }
}

export function exitText(code: number | null, signal: string | null): string {
  return code !== null ? `exited with status ${code}` : `killed by ${signal ?? "unknown signal"}`;
}

// ---------- helpers: each returns a whole StepResult so cells stay one-liners

const ok = (c: Companion, message: string, effects: Effect[] = []): StepResult => ({ next: c, effects, reply: { ok: true, message } });
const refuse = (c: Companion, message: string, code: Reply["code"]): StepResult => ({ next: c, effects: [], reply: { ok: false, message, code } });
const same = (c: Companion): StepResult => ({ next: c, effects: [] });
const warn = (c: Companion, what: string): StepResult => ({ next: c, effects: [{ type: "log", message: `warning: ${c.name}: ignored ${what} in ${c.state}` }] });

/** -> STARTING: ask the host to spawn; `counted` spawns follow an earlier run without a manual start */
function spawn(c: Companion, counted: boolean): StepResult {
  return {
    next: {
      ...c,
      state: "STARTING",
      pid: null,
      deadline: null,
      killed: false,
      stable: false,
      restartPending: false,
      startPending: false,
      nextRetryAt: null,
      retryDelayMs: null,
      restartCount: c.restartCount + (counted && c.hasRun ? 1 : 0),
      reason: "starting",
      ...FRESH_RUN,
    },
    effects: [{ type: "spawn", spec: c.spec }],
  };
}

/** STARTING/RUNNING -> STOPPING: stop_signal to the group now, SIGKILL at the deadline */
function beginStop(c: Companion, now: Clock, timeoutMs: number): Companion {
  return { ...c, state: "STOPPING", deadline: now.mono + timeoutMs, killed: false, held: false, reason: "stopping" };
}

/** a start from down: spawn now, or WAITING while a dependency is not met (contract §4, §9) */
function startOrWait(c: Companion, counted: boolean, unmet: Dependency[] | undefined): StepResult {
  if (unmet?.length) {
    // STOPPED/EXITED/FATAL/BACKOFF -> WAITING: a dependency is not met
    const next: Companion = { ...c, state: "WAITING", pid: null, deadline: null, nextRetryAt: null, retryDelayMs: null, waitingFor: unmet, reason: `for ${depText(unmet)}` };
    return ok(next, `${c.name} waiting for ${depText(unmet)}`);
  }
  return withReply(spawn(c, counted), `${c.name} started`);
}
const stopSignal = (c: Companion): Effect => ({ type: "signal", pid: c.pid!, signal: c.spec.stopSignal, group: true });

function afterExit(c: Companion, ev: Extract<Event, { type: "exited" }>, now: Clock): Companion {
  return {
    ...c,
    pid: null,
    deadline: null,
    killed: false,
    stable: false,
    exitedAt: now.wall,
    lastExitCode: ev.code,
    lastExitSignal: ev.signal,
    exitCount: c.exitCount + 1,
    reason: exitText(ev.code, ev.signal),
    ready: false,
    notifyStatus: null,
    held: false,
  };
}

function ended(c: Companion, final: "EXITED" | "FATAL"): Effect[] {
  if (c.manualStop) return [];
  // a code in success_exit_codes is a clean end: fail-fast and essential exit 0 for it
  const clean = isSuccess(c.lastExitCode, c.lastExitSignal, c.spec.successExitCodes);
  const code = final === "FATAL" ? 1 : clean ? 0 : c.lastExitCode !== null ? c.lastExitCode : 128 + signalNumberOr(c.lastExitSignal);
  return [{ type: "ended", final, code }];
}
function signalNumberOr(name: string | null): number {
  try {
    return name ? signalNumber(name) : 0;
  } catch {
    return 0;
  }
}

/** STARTING/RUNNING: the process ended on its own (or after a restart's stop) */
const exitedWhileUp: Cell<"exited"> = (c, ev, now) => {
  if (ev.pid !== c.pid) return warn(c, `exit of pid ${ev.pid}`);
  const d = afterExit(c, ev, now);
  if (d.removed) return { next: { ...d, state: "STOPPED" }, effects: [{ type: "gone" }] };
  // STARTING/RUNNING -> STOPPED: a manual stop is already under way (defensive: stop moves to STOPPING)
  if (d.manualStop) return { next: { ...d, state: "STOPPED", reason: "stopped manually" }, effects: [] };
  // STARTING/RUNNING -> STARTING: exit with a restart pending
  if (d.restartPending) return spawn(d, true);
  if (shouldRestart(d.spec.restart, ev.code, ev.signal, d.spec.successExitCodes)) {
    if (c.stable) {
      // RUNNING -> BACKOFF with no delay: a stable run ended; retried at once, no failed run counted
      return { next: { ...d, state: "BACKOFF", failures: 0, deadline: now.mono, nextRetryAt: now.wall, retryDelayMs: 0 }, effects: [] };
    }
    // STARTING/RUNNING -> BACKOFF (or FATAL at max_restarts): policy says restart
    return failedRun(d, now);
  }
  // STARTING/RUNNING -> EXITED: policy says no restart
  return endedForGood(d);
};

/** STOPPING: the process is gone */
const exitedWhileStopping: Cell<"exited"> = (c, ev, now) => {
  if (ev.pid !== c.pid) return warn(c, `exit of pid ${ev.pid}`);
  const d = afterExit(c, ev, now);
  // STOPPING -> STOPPED: a removed companion is forgotten once its process is gone
  if (d.removed) return { next: { ...d, state: "STOPPED", reason: "removed" }, effects: [{ type: "gone" }] };
  // STOPPING -> STARTING: restart pending (restart command, reread change)
  if (d.restartPending && !d.manualStop) return spawn(d, !d.startPending);
  // STOPPING -> BACKOFF/FATAL/EXITED: it was stopped for not being ready in time — a failed run
  if (d.failedStart && !d.manualStop) {
    const e: Companion = { ...d, reason: d.failedStart, failedStart: null };
    return d.spec.restart === "never" ? endedForGood(e) : failedRun(e, now, d.failedStart);
  }
  // STOPPING -> STOPPED
  return { next: { ...d, state: "STOPPED", restartPending: false, reason: d.manualStop ? "stopped manually" : d.reason }, effects: [] };
};

/**
 * Failed run n (an exit the policy restarts, or not ready in time): BACKOFF for the delay of
 * run n, or FATAL once max_restarts consecutive runs failed — no last delay is waited out.
 * `cause` is said in the FATAL reason ("gave up after 3 failed runs (not ready within 60s …)").
 */
function failedRun(d: Companion, now: Clock, cause?: string): StepResult {
  const failures = d.failures + 1;
  if (d.spec.maxRestarts > 0 && failures >= d.spec.maxRestarts) {
    const next: Companion = { ...d, state: "FATAL", failures, reason: `gave up after ${failures} failed runs${cause ? ` (${cause})` : ""}` };
    return { next, effects: ended(next, "FATAL") };
  }
  const delay = retryDelayMs(d.spec, failures);
  return { next: { ...d, state: "BACKOFF", failures, deadline: now.mono + delay, nextRetryAt: now.wall + delay, retryDelayMs: delay }, effects: [] };
}

/** a run ended and its policy does not restart it: EXITED, and the fail-fast hook hears of it */
function endedForGood(d: Companion): StepResult {
  const next: Companion = { ...d, state: "EXITED" };
  return { next, effects: ended(next, "EXITED") };
}

const spawnedWhileStarting: Cell<"spawned"> = (c, ev, now) => {
  const base: Companion = { ...c, pid: ev.pid, startedAt: now.wall, startedMono: now.mono, hasRun: true, runs: c.runs + 1, reason: "starting" };
  // with a ready check: STARTING until ready, at most ready.within (contract §9)
  if (c.spec.ready) return { next: { ...base, deadline: now.mono + c.spec.ready.withinMs }, effects: [] };
  // STARTING -> RUNNING at once when startsecs = 0
  if (c.spec.startsecsMs === 0) return { next: { ...base, state: "RUNNING", deadline: now.mono + stableWindowMs(c.spec), reason: "running" }, effects: [] };
  return { next: { ...base, deadline: now.mono + c.spec.startsecsMs }, effects: [] };
};

/** a spawn result for a state that asked for none: never let a second process live */
const strayProcess: Cell<"spawned"> = (c, ev) => ({
  next: c,
  effects: [
    { type: "log", message: `warning: ${c.name}: unexpected process ${ev.pid} in ${c.state}, killing it` },
    { type: "signal", pid: ev.pid, signal: "SIGKILL", group: true },
  ],
});

const spawnFailed: Cell<"spawnFailed"> = (c, ev, now) => {
  if (ev.transient && !c.removed) {
    // STARTING -> BACKOFF: a shortage (no fds, no memory) passes; retry with backoff, never FATAL
    const failures = c.failures + 1;
    const delay = retryDelayMs(c.spec, failures) || 1000;
    return {
      next: { ...c, state: "BACKOFF", pid: null, failures, restartPending: false, deadline: now.mono + delay, nextRetryAt: now.wall + delay, retryDelayMs: delay, reason: ev.reason },
      effects: [],
    };
  }
  // any -> FATAL: the command could not be spawned
  const next: Companion = { ...c, state: "FATAL", pid: null, deadline: null, restartPending: false, reason: ev.reason };
  if (c.removed) return { next, effects: [{ type: "gone" }] };
  return { next, effects: ended(next, "FATAL") };
};

// ---------- commands

// the operator's start or restart gives a crash loop (or one that gave up) a fresh count of failed runs
const startFromDown: Cell<"start"> = (c, ev) => startOrWait({ ...c, manualStop: false, failures: 0 }, false, ev.unmet);
const restartFromDown: Cell<"restart"> = (c, ev) => startOrWait({ ...c, manualStop: false, failures: 0 }, true, ev.unmet);
const startFromBackoff: Cell<"start"> = startFromDown;
const restartFromBackoff: Cell<"restart"> = restartFromDown;

/** an event no one waits a reply for (a reread, a probe): the cell's reply is dropped */
const silent = ({ reply: _, ...r }: StepResult): StepResult => r;

function withReply(r: StepResult, message: string): StepResult {
  return { ...r, reply: { ok: true, message } };
}

function markStop(c: Companion, ev: Extract<Event, { type: "stop" }>): Companion {
  return { ...c, manualStop: true, restartPending: false, startPending: false, failedStart: null, removed: c.removed || ev.kind === "remove" };
}

const stopWhileDown: Cell<"stop"> = (c, ev) => {
  const next = markStop(c, ev);
  return ok(next, `${c.name} already stopped`, next.removed ? [{ type: "gone" }] : []);
};
const stopWhileBackoff: Cell<"stop"> = (c, ev) => {
  // BACKOFF -> STOPPED: cancel the retry
  const next: Companion = { ...markStop(c, ev), state: "STOPPED", deadline: null, nextRetryAt: null, retryDelayMs: null, reason: "stopped manually" };
  return ok(next, `${c.name} stopped`, next.removed ? [{ type: "gone" }] : []);
};
const stopWhileWaiting: Cell<"stop"> = (c, ev) => {
  // WAITING -> STOPPED: it never started
  const next: Companion = { ...markStop(c, ev), state: "STOPPED", waitingFor: [], reason: "stopped manually" };
  return ok(next, `${c.name} stopped`, next.removed ? [{ type: "gone" }] : []);
};
const stopWhileUp: Cell<"stop"> = (c, ev, now) => {
  if (c.pid === null) return ok({ ...markStop(c, ev), state: "STOPPED", deadline: null, reason: "stopped manually" }, `${c.name} stopped`);
  // STARTING/RUNNING -> STOPPING, signal held: a companion that depends on it is still stopping (contract §9)
  if (ev.hold) return ok({ ...markStop(c, ev), state: "STOPPING", deadline: null, killed: false, held: true, reason: "after its dependents" }, `${c.name} stopping`);
  // STARTING/RUNNING -> STOPPING: stop_signal now, SIGKILL at stop_timeout
  return ok(beginStop(markStop(c, ev), now, Math.min(c.spec.stopTimeoutMs, ev.capMs ?? Infinity)), `${c.name} stopping`, [stopSignal(c)]);
};
const stopWhileStopping: Cell<"stop"> = (c, ev, now) => {
  const next = markStop(c, ev);
  // a held stop goes out once its dependents are gone (or at once when the arbiter is gone)
  if (c.held && !ev.hold && c.pid !== null) {
    return ok(beginStop(next, now, Math.min(c.spec.stopTimeoutMs, ev.capMs ?? Infinity)), `${c.name} stopping`, [
      { type: "log", message: `${c.name}: no companion that depends on it is still stopping; sending ${c.spec.stopSignal}` },
      stopSignal(c),
    ]);
  }
  // a capped stop (the arbiter is gone) brings a far SIGKILL deadline closer
  if (ev.capMs !== undefined && !c.killed && (c.deadline === null || c.deadline > now.mono + ev.capMs)) next.deadline = now.mono + ev.capMs;
  return ok(next, `${c.name} already stopping`);
};

const restartWhileUp: Cell<"restart"> = (c, ev, now) => {
  if (c.pid === null) return restartFromDown(c, { type: "restart" }, now);
  // STARTING/RUNNING -> STOPPING with a restart pending: reload_timeout applies
  const next = beginStop({ ...c, manualStop: false, restartPending: true }, now, c.spec.reloadTimeoutMs);
  return ok(ev.reason ? { ...next, reason: ev.reason } : next, `${c.name} restarting`, [stopSignal(c)]);
};

const refuseStopping = (c: Companion): StepResult => refuse(c, `${c.name} is stopping; retry`, "STOPPING");
/** STOPPING: start/restart refused, or (a waiting client's afterStop) started once the old tree is gone */
const startAfterStop = (c: Companion, ev: { type: "start" | "restart"; afterStop?: boolean }): StepResult =>
  ev.afterStop && !c.removed ? ok({ ...c, manualStop: false, restartPending: true, startPending: ev.type === "start" }, `${c.name} starting once stopped`) : refuseStopping(c);

const killUp: Cell<"kill"> = (c) => {
  if (c.pid === null) return same({ ...c, manualStop: true, state: "STOPPED", deadline: null, reason: "stopped manually" });
  // any live -> STOPPING: SIGKILL the group at once
  return {
    next: { ...c, state: "STOPPING", manualStop: true, restartPending: false, failedStart: null, held: false, killed: true, deadline: null, reason: "stopping" },
    effects: [{ type: "signal", pid: c.pid, signal: "SIGKILL", group: true }],
  };
};
const killDown: Cell<"kill"> = (c) => same({ ...c, manualStop: true });
const killBackoff: Cell<"kill"> = (c) =>
  same({ ...c, state: "STOPPED", manualStop: true, deadline: null, nextRetryAt: null, retryDelayMs: null, waitingFor: [], reason: "stopped manually" });

// ---------- reread: a companion's config changed

const changedWhileDown: Cell<"changed"> = (c, ev) => {
  const next = { ...c, spec: ev.spec };
  // a manually stopped companion keeps the new config and stays stopped
  if (c.manualStop) return same(next);
  // a changed config is a fresh start: its failed runs are counted afresh (max_restarts)
  return silent(startOrWait({ ...next, failures: 0 }, true, ev.unmet));
};
const changedWhileBackoff: Cell<"changed"> = (c, ev) => silent(startOrWait({ ...c, spec: ev.spec, failures: 0 }, true, ev.unmet));
const changedWhileUp: Cell<"changed"> = (c, ev, now) => {
  if (c.pid === null) return spawn({ ...c, spec: ev.spec }, true);
  // the old process stops under the old settings; the new spec takes over when it is gone
  return { next: { ...beginStop({ ...c, restartPending: true }, now, c.spec.reloadTimeoutMs), spec: ev.spec }, effects: [stopSignal(c)] };
};
const changedWhileStopping: Cell<"changed"> = (c, ev) => {
  // a removed name that comes back while its old process drains: start it once that is gone
  if (c.removed) return same({ ...c, spec: ev.spec, removed: false, manualStop: false, restartPending: true });
  return same({ ...c, spec: ev.spec });
};

/**
 * A reread that changed only timings, policy, checks or sinks (`updated`): the record with the
 * new spec, same process. A ready check added to a RUNNING run is for its next start (this run
 * is up); a STARTING run's promotion deadline follows the new rule — `within` of a new check,
 * or startsecs without one — counted from its start (already due: promoted at once).
 */
export function updatedInPlace(c: Companion, spec: CompanionSpec): Companion {
  const next: Companion = { ...c, spec, ready: c.ready || (c.state === "RUNNING" && !c.spec.ready) };
  if (c.state === "STARTING" && c.pid !== null && c.startedMono !== null && !!c.spec.ready !== !!spec.ready) {
    next.deadline = c.startedMono + (spec.ready ? spec.ready.withinMs : spec.startsecsMs);
  }
  return next;
}

// ---------- timers

const promote: Cell<"deadline"> = (c, _ev, now) => {
  if (c.deadline === null || now.mono < c.deadline) return same(c);
  if (c.spec.ready && c.pid !== null) {
    // STARTING -> STOPPING: not ready within ready.within — a failed start, BACKOFF once it is gone
    const reason = `not ready within ${c.spec.ready.withinMs / 1000}s (${c.lastProbe ?? probeText(c.spec)})`;
    return { next: { ...beginStop(c, now, c.spec.stopTimeoutMs), failedStart: reason, reason }, effects: [stopSignal(c)] };
  }
  // STARTING -> RUNNING: up for startsecs
  return same({ ...c, state: "RUNNING", deadline: now.mono + stableWindowMs(c.spec), reason: "running" });
};

// ---------- readiness, health, sd_notify, dependencies

/** STARTING: its ready check passed -> RUNNING; RUNNING: ready again after RELOADING=1 */
const readyWhileStarting: Cell<"ready"> = (c, ev, now) => {
  if (ev.pid !== c.pid || !c.spec.ready) return same(c);
  // STARTING -> RUNNING: ready (contract §9)
  return same({ ...c, state: "RUNNING", ready: true, deadline: now.mono + stableWindowMs(c.spec), reason: "running" });
};
const readyWhileRunning: Cell<"ready"> = (c, ev) => (ev.pid === c.pid ? same({ ...c, ready: true }) : same(c));
const unreadyWhileRunning: Cell<"unready"> = (c, ev) => (ev.pid === c.pid && c.spec.ready ? same({ ...c, ready: false }) : same(c));
const healthWhileRunning: Cell<"health"> = (c, ev, now) => {
  if (ev.pid !== c.pid || !c.spec.health) return same(c);
  if (ev.ok) return same({ ...c, healthFailures: 0, healthDetail: null });
  const next: Companion = { ...c, healthFailures: c.healthFailures + 1, healthDetail: ev.detail };
  if (next.healthFailures < c.spec.health.failures) return same(next);
  // RUNNING -> STOPPING with a restart pending: `failures` consecutive failed probes
  return silent(restartWhileUp(next, { type: "restart", reason: `unhealthy: ${ev.detail} (${next.healthFailures} failed checks)` }, now));
};
/** sd_notify STATUS= of the current run, in any state it may arrive */
const noteStatus: Cell<"status"> = (c, ev) => (ev.pid === c.pid ? same({ ...c, notifyStatus: ev.text || null }) : same(c));
/** WAITING: the loop re-evaluated its dependencies */
const depsWhileWaiting: Cell<"deps"> = (c, ev) => {
  // WAITING -> STARTING: every dependency met
  if (!ev.unmet.length) return spawn(c, false);
  return same({ ...c, waitingFor: ev.unmet, reason: `for ${depText(ev.unmet)}` });
};
const ignore = (c: Companion): StepResult => same(c);
const settle: Cell<"deadline"> = (c, _ev, now) => {
  if (c.deadline === null || now.mono < c.deadline) return same(c);
  // RUNNING stayed up for its stable window: consecutive failed runs reset; its end is retried at once
  return same({ ...c, failures: 0, stable: true, deadline: null });
};
const retry: Cell<"deadline"> = (c, _ev, now) => {
  if (c.deadline === null || now.mono < c.deadline) return same(c);
  // BACKOFF -> STARTING: retry delay elapsed
  return spawn(c, true);
};
const escalate: Cell<"deadline"> = (c, _ev, now) => {
  if (c.deadline === null || now.mono < c.deadline || c.killed || c.pid === null) return same(c);
  // STOPPING: stop_timeout elapsed -> SIGKILL to the group
  return {
    next: { ...c, killed: true, deadline: null },
    effects: [
      { type: "log", message: `${c.name}: still running after stop timeout, sending SIGKILL to group ${c.pid}` },
      { type: "signal", pid: c.pid, signal: "SIGKILL", group: true },
    ],
  };
};

const ignoreExit: Cell<"exited"> = (c, ev) => warn(c, `exit of pid ${ev.pid}`);
const ignoreTimer: Cell<"deadline"> = (c) => same(c);

/** what a state without a live run does with probe results and dependency updates: nothing */
const quiet = { deps: ignore, ready: ignore, unready: ignore, health: ignore, status: ignore, probed: ignore } as const;

const down = {
  stop: stopWhileDown,
  restart: restartFromDown,
  kill: killDown,
  changed: changedWhileDown,
  spawned: strayProcess,
  spawnFailed: (c: Companion) => warn(c, "spawn failure"),
  exited: ignoreExit,
  deadline: ignoreTimer,
  ...quiet,
} as const;

const up = {
  stop: stopWhileUp,
  restart: restartWhileUp,
  kill: killUp,
  changed: changedWhileUp,
  exited: exitedWhileUp,
} as const;

export const table = {
  STOPPED: { start: startFromDown, ...down },
  EXITED: { start: startFromDown, ...down },
  FATAL: { start: startFromDown, ...down },
  WAITING: {
    start: (c) => ok(c, `${c.name} already waiting`),
    stop: stopWhileWaiting,
    restart: (c) => ok(c, `${c.name} already waiting`),
    kill: (c) => same({ ...c, state: "STOPPED", manualStop: true, waitingFor: [], reason: "stopped manually" }),
    // the new spec's dependencies are evaluated by the loop right after (a deps event)
    changed: (c, ev) => same({ ...c, spec: ev.spec }),
    spawned: strayProcess,
    spawnFailed: (c) => warn(c, "spawn failure"),
    exited: ignoreExit,
    deadline: ignoreTimer,
    ...quiet,
    deps: depsWhileWaiting,
  },
  BACKOFF: {
    start: startFromBackoff,
    stop: stopWhileBackoff,
    restart: restartFromBackoff,
    kill: killBackoff,
    changed: changedWhileBackoff,
    spawned: strayProcess,
    spawnFailed: (c) => warn(c, "spawn failure"),
    exited: ignoreExit,
    deadline: retry,
    ...quiet,
  },
  STARTING: {
    start: (c) => ok(c, `${c.name} already starting`),
    ...up,
    spawned: (c, ev, now) => (c.pid === null ? spawnedWhileStarting(c, ev, now) : strayProcess(c, ev, now)),
    spawnFailed,
    deadline: promote,
    ...quiet,
    ready: readyWhileStarting,
    status: noteStatus,
    probed: (c, ev) => (ev.pid === c.pid ? same({ ...c, lastProbe: ev.detail }) : same(c)),
  },
  RUNNING: {
    start: (c) => ok(c, `${c.name} already running`),
    ...up,
    spawned: strayProcess,
    spawnFailed: (c) => warn(c, "spawn failure"),
    deadline: settle,
    deps: ignore,
    ready: readyWhileRunning,
    unready: unreadyWhileRunning,
    health: healthWhileRunning,
    status: noteStatus,
    probed: ignore,
  },
  STOPPING: {
    start: startAfterStop,
    stop: stopWhileStopping,
    restart: startAfterStop,
    kill: killUp,
    changed: changedWhileStopping,
    spawned: strayProcess,
    spawnFailed: (c) => warn(c, "spawn failure"),
    exited: exitedWhileStopping,
    deadline: escalate,
    ...quiet,
    status: noteStatus,
  },
} satisfies Table;

export function step(c: Companion, ev: Event, now: Clock): StepResult {
  const cell = (table as Table)[c.state][ev.type] as Cell<typeof ev.type>;
  const r = cell(c, ev as never, now);
  if (ev.type === "deadline" && r.next.deadline !== null && r.next.deadline <= now.mono) {
    // a due deadline that its cell did not consume would fire forever: drop it
    r.next = { ...r.next, deadline: null };
  }
  if (r.next.state !== c.state) {
    r.effects.unshift({ type: "log", message: `${c.name} ${c.state} -> ${r.next.state} (${why(ev, c, r.next)})` });
  }
  return r;
}

/** why a transition happened, in the words of the log line (also the `reason` of an event) */
export function why(ev: Event, before: Companion, after: Companion): string {
  switch (ev.type) {
    case "exited":
      return `${exitText(ev.code, ev.signal)}, pid ${ev.pid}${after.state === "FATAL" ? `; ${after.reason}` : ""}`;
    case "spawned":
      return `pid ${ev.pid}`;
    case "spawnFailed":
      return ev.reason;
    case "deadline":
      if (before.state === "STARTING") return before.spec.ready ? `${after.reason}, pid ${before.pid}` : `up ${before.spec.startsecsMs / 1000}s, pid ${before.pid}`;
      if (before.state === "BACKOFF") return `retry ${after.restartCount}`;
      return "deadline";
    case "changed":
      return "config changed";
    case "stop": {
      const base = ev.kind === "remove" ? "removed from config" : ev.kind === "shutdown" ? "sup stopping" : "stop command";
      return after.held ? `${base}; waits for the companions that depend on it to stop` : base;
    }
    case "restart":
      return ev.reason ?? "restart command";
    case "ready":
      return `ready: ${ev.detail}, pid ${ev.pid}`;
    case "health":
      return after.reason;
    case "deps":
      return ev.unmet.length ? `waiting for ${depText(ev.unmet)}` : `dependencies met: ${depText(before.waitingFor)}`;
    case "start":
      return after.state === "WAITING" ? `start command; waiting for ${depText(after.waitingFor)}` : "start command";
    default:
      return `${ev.type} command`;
  }
}
