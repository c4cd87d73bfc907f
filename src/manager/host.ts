// The seam between the manager's loop and the OS: everything effectful the loop needs.
// bun-host.ts implements it for real; tests use a fake with a virtual clock.
import type { CompanionSpec } from "../config/schema.ts";
import type { Event } from "../core/types.ts";
import type { Clock } from "../core/types.ts";
import type { Sample } from "../contain/containment.ts";
import type { Intent } from "../ipc.ts";

/**
 * A companion could not be spawned. `transient`: the cause is a shortage that passes (no fds
 * left: EMFILE/ENFILE; no processes or memory: EAGAIN/ENOMEM), so the loop retries with backoff
 * instead of giving up (FATAL).
 */
export class SpawnError extends Error {
  constructor(
    message: string,
    readonly transient = false,
  ) {
    super(message);
  }
}

/** a companion's process group: how to stop it if its manager is gone */
export interface OwnedGroup {
  pgid: number;
  signal: string;
  stopMs: number;
  /** the run's SUP_TREE marker, `<instance>/<name>/<run>` (its cgroup folder is `<run>.<name>`) */
  marker?: string;
}

/** what a run's readiness/health channel reports: the core event without its pid */
export type ProbeReport =
  | { type: "ready"; detail: string }
  | { type: "unready" }
  | { type: "health"; ok: boolean; detail: string }
  | { type: "status"; text: string }
  | { type: "probed"; detail: string };
export type ProbeEvent = Extract<Event, { type: ProbeReport["type"] }>;

/** what a run's probes do now: prove it ready (STARTING), watch its liveness (RUNNING), or nothing */
export type WatchMode = "ready" | "health" | null;

export interface Host {
  now(): Clock;
  /**
   * Start the companion in its own process group; throws SpawnError with the reason. `onProbe`
   * hears the run's sd_notify messages, its notification fd and its probes (see watch).
   */
  spawn(spec: CompanionSpec, onExit: (pid: number, code: number | null, signal: string | null) => void, onProbe?: (pid: number, report: ProbeReport) => void): number;
  /**
   * Switch the polled probes of run `pid`: "ready" runs spec.ready's probe every interval until
   * switched off, "health" runs spec.health's (or arms the watchdog), null stops them. Nothing
   * runs for a companion without checks; channels that the companion drives (notify, fd) need no
   * polling and report whenever it writes.
   */
  watch?(pid: number, spec: CompanionSpec, mode: WatchMode): void;
  /** run `fn` once the current batch of I/O callbacks is done (setImmediate) */
  soon?(fn: () => void): void;
  /** deliver a signal to a pid or its whole group; a process already gone is not an error */
  signal(pid: number, signal: string, group: boolean): void;
  /**
   * The process has ended but its exit has not been delivered yet (a zombie, or already gone):
   * the loop then lets the exit arrive before it acts on a deadline that fell due meanwhile.
   */
  exitPending?(pid: number): boolean;
  /** the one timer: fire `fn` at monotonic `atMono` (any distance, never early); null clears it */
  timer(atMono: number | null, fn: () => void): void;
  log(message: string): void;
  /** what the tree of main process `pid` costs now (processes, CPU, memory); null when unknown */
  sample?(pid: number): Sample | null;
  /** a companion's settings changed in place (reread `updated`): sinks follow at once */
  specUpdated?(spec: CompanionSpec): void;
  /** the lines a companion wrote to stderr before its last exit (captured output only) */
  lastStderr?(name: string): string[];
  /** why a companion's log file cannot be written now (a full disk), or null */
  logProblem?(name: string): string | null;
  /** samples for one status reply, within about `budgetMs` of work (stalest first; the rest cached or null) */
  sampleMany?(pids: number[], budgetMs: number): Map<number, Sample | null>;
  /** process groups the manager now owns, for the arbiter to clean up if the manager dies */
  groups?(added: OwnedGroup[], removed: number[]): void;
  /** a companion's lasting record changed (manual stop, counters): the arbiter keeps it for the next manager */
  intent?(entry: Intent): void;
  /** a shutdown began (operator stop or fail-fast) and will end with this exit code */
  stopping?(code: number): void;
  /** the manager is done (shutdown finished): exit with this code */
  exit(code: number): void;
}
