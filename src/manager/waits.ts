// Replies that wait for an outcome (contract §5 "wait: true", and the `wait` command): each is
// a bounded subscription the loop checks after every drain — never a timer that polls. A
// waiter ends with its outcome, at its timeout, or when its client hangs up (nothing is kept).
import type { Companion, Reply, State } from "../core/types.ts";
import { depText, probeText } from "../core/step.ts";
import { isSuccess } from "../core/policy.ts";
import { setLongTimeout, type LongTimer } from "../os/timer.ts";

export type WaitReply = Reply & { state?: State; companions?: unknown[] };

/** what a waiter looks at: the current record of a companion (undefined once forgotten) */
export type Lookup = (name: string) => Companion | undefined;

/** decides, from the records, whether the wait is over: a reply, or null to keep waiting */
export type Outcome = (get: Lookup) => WaitReply | null;

interface Waiter {
  outcome: Outcome;
  resolve: (r: WaitReply) => void;
  timer: LongTimer;
  abort?: { signal: AbortSignal; onAbort: () => void };
}

export class Waits {
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly get: Lookup) {}

  get size(): number {
    return this.waiters.size;
  }

  /**
   * Wait until `outcome` gives a reply, at most `timeoutMs` (then `onTimeout()` is the reply);
   * an aborted `signal` (the client hung up) drops the waiter. Checked at once, then after
   * every drain of the loop (check()).
   */
  add(outcome: Outcome, timeoutMs: number, onTimeout: (get: Lookup) => WaitReply, signal?: AbortSignal): Promise<WaitReply> {
    const now = outcome(this.get);
    if (now) return Promise.resolve(now);
    return new Promise<WaitReply>((resolve) => {
      const w: Waiter = {
        outcome,
        resolve,
        timer: setLongTimeout(() => this.finish(w, onTimeout(this.get)), timeoutMs),
      };
      if (signal) {
        const onAbort = () => this.drop(w);
        signal.addEventListener("abort", onAbort, { once: true });
        w.abort = { signal, onAbort };
      }
      this.waiters.add(w);
    });
  }

  /** after a drain: end every waiter whose outcome is known */
  check(): void {
    for (const w of this.waiters) {
      const r = w.outcome(this.get);
      if (r) this.finish(w, r);
    }
  }

  private finish(w: Waiter, r: WaitReply): void {
    if (!this.waiters.has(w)) return;
    this.drop(w);
    w.resolve(r);
  }

  private drop(w: Waiter): void {
    this.waiters.delete(w);
    w.timer.clear();
    w.abort?.signal.removeEventListener("abort", w.abort.onAbort);
  }
}

/** a companion is down and stays down: no process, nothing pending */
export function isDown(c: Companion): boolean {
  return c.pid === null && (c.state === "STOPPED" || c.state === "EXITED" || c.state === "FATAL");
}

/**
 * The outcome of a waited start/restart of `name`, given its record before (`before`): RUNNING
 * in a run that began after the command is success; FATAL, an exit before RUNNING, or an
 * operator's stop meanwhile is FAILED with the reason.
 */
export function startOutcome(name: string, before: Companion, verb: "started" | "restarted"): Outcome {
  const baseline = before.runs;
  const oldPid = before.pid;
  const alreadyUp = before.state === "RUNNING" || before.state === "STARTING";
  return (get) => {
    const c = get(name);
    if (!c) return failed(name, "removed from the config", "STOPPED");
    const newRun = c.runs > baseline;
    if (c.state === "RUNNING" && (newRun || (verb === "started" && alreadyUp && c.pid === oldPid))) return { ok: true, message: `${name} ${verb}` };
    if (c.state === "FATAL") return failed(name, c.reason, c.state);
    // waiting on dependencies that cannot get there by themselves: the outcome is known now
    if (c.state === "WAITING" && c.waitingFor.length && c.waitingFor.every((d) => d.why !== undefined)) return failed(name, `waiting for ${depText(c.waitingFor)}`, c.state);
    if (!newRun) return null; // the old process is still draining, or the spawn is under way
    // a one-shot that ran and ended cleanly (a success code, not restarted) did what was asked
    if (c.state === "EXITED" && c.spec.restart !== "always" && isSuccess(c.lastExitCode, c.lastExitSignal, c.spec.successExitCodes)) return { ok: true, message: `${name} ${verb} and ${c.reason}` };
    if (c.state === "BACKOFF" || c.state === "EXITED") return failed(name, `${c.reason} before it was up`, c.state);
    if (c.state === "STOPPED" || (c.state === "STOPPING" && c.manualStop)) return failed(name, "stopped before it was up", c.state);
    return null;
  };
}

/** the outcome of a waited stop: down, or back up because someone started it meanwhile */
export function stopOutcome(name: string): Outcome {
  return (get) => {
    const c = get(name);
    if (!c || isDown(c) || (c.state === "BACKOFF" && c.manualStop)) return { ok: true, message: `${name} stopped` };
    if (!c.manualStop && c.state === "RUNNING") return failed(name, "started again before it stopped", c.state);
    return null;
  };
}

function failed(name: string, why: string, state: State): WaitReply {
  return { ok: false, code: "FAILED", message: `${name}: ${why}`, state };
}

/** TIMEOUT reply for one companion: what it is still doing */
export function timedOut(name: string, get: Lookup, seconds: number): WaitReply {
  const c = get(name);
  const state = c?.state ?? "STOPPED";
  const what = c?.state === "WAITING" ? ` for ${depText(c.waitingFor)}` : c?.state === "STARTING" && c.spec.ready ? ` (waiting for ${probeText(c.spec)})` : "";
  return { ok: false, code: "TIMEOUT", message: `${name}: still ${state}${what} after ${Math.round(seconds * 10) / 10}s`, state };
}
