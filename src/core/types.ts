// The core's vocabulary: states, events (past-tense facts), effects (imperatives) and the
// per-companion record. Pure types, shared by step.ts, the manager loop and the tests.
import type { CompanionSpec, Dependency } from "../config/schema.ts";

export const STATES = ["STOPPED", "WAITING", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL"] as const;
export type State = (typeof STATES)[number];

/** Monotonic ms for deadlines and durations; wall ms only for what is reported. */
export interface Clock {
  mono: number;
  wall: number;
}

export type StopKind = "manual" | "shutdown" | "remove";

export type Event =
  // unmet: the dependencies not met now (the loop computes them); a start from down then WAITs
  | { type: "start"; afterStop?: boolean; unmet?: Dependency[] } // operator's start (or the initial autostart); afterStop: a STOPPING one starts once its old tree is gone
  // capMs: stop_timeout at most this (the arbiter is gone); hold: a companion that depends on it is still stopping — the stop signal waits for a later stop without hold
  | { type: "stop"; kind?: StopKind; capMs?: number; hold?: boolean }
  | { type: "restart"; reason?: string; afterStop?: boolean; unmet?: Dependency[] } // reason: a restart sup decided (over max_memory, unhealthy), said in log and status
  | { type: "kill" } // fast stop: SIGKILL the group now
  | { type: "changed"; spec: CompanionSpec; unmet?: Dependency[] } // reread: new config for this name
  | { type: "deps"; unmet: Dependency[] } // WAITING: its dependencies now (all met when empty)
  | { type: "ready"; pid: number; detail: string } // the run's ready check passed (READY=1, a probe)
  | { type: "unready"; pid: number } // sd_notify RELOADING=1: not ready until the next READY=1
  | { type: "health"; pid: number; ok: boolean; detail: string } // one health probe's result
  | { type: "status"; pid: number; text: string } // sd_notify STATUS=: shown in the description
  | { type: "probed"; pid: number; detail: string } // a ready probe failed, and why (the reason if it is never ready)
  | { type: "spawned"; pid: number }
  | { type: "spawnFailed"; reason: string; transient?: boolean } // transient: a shortage (fds, memory) that passes
  | { type: "exited"; pid: number; code: number | null; signal: string | null }
  | { type: "deadline" };
export type EventType = Event["type"];

export type Effect =
  | { type: "spawn"; spec: CompanionSpec }
  | { type: "signal"; pid: number; signal: string; group: boolean }
  | { type: "log"; message: string }
  | { type: "ended"; final: "EXITED" | "FATAL"; code: number } // fail-fast hook: ended for good
  | { type: "gone" }; // a removed companion's process is gone: forget it

export interface Reply {
  ok: boolean;
  message: string;
  code?: ErrorCode;
}

export type ErrorCode = "BAD_REQUEST" | "BAD_NAME" | "STOPPING" | "NOT_RUNNING" | "BAD_SIGNAL" | "INVALID_CONFIG" | "INTERNAL" | "FAILED" | "TIMEOUT" | "FORBIDDEN";

export interface Companion {
  name: string;
  spec: CompanionSpec;
  state: State;
  pid: number | null;
  /** operator wants it down; cleared only by start/restart */
  manualStop: boolean;
  /** spawn again as soon as the current process is gone */
  restartPending: boolean;
  /** the pending spawn is an operator's start (a waited start of a STOPPING one): not a restart */
  startPending: boolean;
  /** removed by reread: forget once the process is gone */
  removed: boolean;
  /** monotonic ms: promotion (STARTING), backoff reset (RUNNING), retry (BACKOFF), SIGKILL (STOPPING) */
  deadline: number | null;
  /** STOPPING: SIGKILL already sent */
  killed: boolean;
  startedAt: number | null; // wall ms
  startedMono: number | null;
  exitedAt: number | null; // wall ms
  nextRetryAt: number | null; // wall ms
  retryDelayMs: number | null;
  lastExitCode: number | null;
  lastExitSignal: string | null;
  restartCount: number;
  exitCount: number;
  /** consecutive failed runs since the last stable one: backoff and max_restarts count these */
  failures: number;
  /** the current run stayed RUNNING past its stable window: its end is retried at once */
  stable: boolean;
  /** the tail of the description: why it is in its state */
  reason: string;
  /** has run at least once: later spawns (not by `start`) count as restarts */
  hasRun: boolean;
  /** processes spawned so far: names a run (a waiting reply tells the new run from the old) */
  runs: number;
  /** WAITING: the dependencies not met yet */
  waitingFor: Dependency[];
  /** the current run passed its ready check (and is not reloading) */
  ready: boolean;
  /** consecutive failed health probes of the current run, and what the last one said */
  healthFailures: number;
  healthDetail: string | null;
  /** the run's last sd_notify STATUS= text */
  notifyStatus: string | null;
  /** STARTING: what the last failed ready probe found ("connection refused", "HTTP 503") */
  lastProbe: string | null;
  /** STOPPING because it was not ready in time: its exit is a failed run (BACKOFF), with this reason */
  failedStart: string | null;
  /** STOPPING, but its stop signal waits until the companions that depend on it are gone */
  held: boolean;
}

export type StepResult = { next: Companion; effects: Effect[]; reply?: Reply };
