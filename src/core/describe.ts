// The status entry of one companion, exactly the wire keys of the contract. Pure.
import type { Clock, Companion } from "./types.ts";
import { depText, probeText } from "./step.ts";

export interface StatusEntry {
  name: string;
  state: string;
  pid: number | null;
  description: string;
  started_at: number | null;
  exited_at: number | null;
  next_retry_at: number | null;
  restart_delay: number | null;
  last_exit_code: number | null;
  last_exit_signal: string | null;
  restart_count: number;
  exit_count: number;
  manual_stop: boolean;
  command: string;
  /** extra, not in the original: seconds since the current process started (null when none) */
  uptime: number | null;
  /** live processes in its tree (0 when not running) */
  processes: number;
  /** percent of one core over the last interval between two samples, or since the start; null when not running */
  cpu_percent: number | null;
  /** resident memory summed over the tree, bytes; null when not running */
  rss_bytes: number | null;
  /** readiness (true/false), null without a `ready` check */
  ready: boolean | null;
  /** liveness ("ok"/"failing"), null without a check */
  health: "ok" | "failing" | null;
  /** WAITING: the dependencies not met yet; [] otherwise */
  waiting_for: string[];
  /** up to the last 10 lines written to stderr before the last exit ([] until logs are captured) */
  last_stderr: string[];
  /** 1..N with `instances`, null without */
  instance: number | null;
}

/** what a companion's tree costs, sampled by the host when status is asked */
export interface Usage {
  processes: number;
  cpuPercent: number;
  rssBytes: number;
}

export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const hm = `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
  if (h < 24) return hm;
  // the original client's wording (Python's timedelta): "1 day, 0:00:00", "2 days, 3:12:44"
  const days = Math.floor(h / 24);
  return `${days} day${days === 1 ? "" : "s"}, ${hm.replace(/^\d+/, String(h % 24))}`;
}

export function shellJoin(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/**
 * The status entry of `c` at `now`. `usage`: what its tree costs (sampled by the host);
 * `lastStderr`: its captured stderr before the last exit; `logProblem`: why its log file cannot
 * be written right now (a full disk), said in the description.
 */
export function describe(c: Companion, now: Clock, usage: Usage | null = null, lastStderr: string[] = [], logProblem: string | null = null): StatusEntry {
  const uptime = c.pid !== null && c.startedMono !== null ? (now.mono - c.startedMono) / 1000 : null;
  let description: string;
  switch (c.state) {
    case "RUNNING":
      description = `running, pid ${c.pid}, uptime ${formatUptime(uptime ?? 0)}`;
      if (c.spec.ready && !c.ready) description += ", not ready (reloading)";
      break;
    case "STARTING":
      // what it waits for, and until when
      description =
        c.spec.ready && c.pid !== null && c.deadline !== null
          ? `starting, waiting for ${probeText(c.spec)} (${Math.max(0, Math.ceil((c.deadline - now.mono) / 1000))}s left${c.lastProbe ? `; last: ${c.lastProbe}` : ""})`
          : "starting";
      break;
    case "WAITING":
      description = `waiting, for ${depText(c.waitingFor)}`;
      break;
    case "BACKOFF": {
      // whole seconds left, rounded down, as the original client shows them
      const left = c.deadline === null ? 0 : Math.max(0, Math.floor((c.deadline - now.mono) / 1000));
      description = `backoff, ${c.reason}, retrying in ${left}s`;
      break;
    }
    case "STOPPING":
      // why, when sup itself decided it (a memory limit), not for an operator's stop
      description = c.reason && c.reason !== "stopping" ? `stopping, ${c.reason}` : "stopping";
      break;
    default:
      description = `${c.state.toLowerCase()}, ${c.reason}`;
  }
  if (c.healthFailures > 0 && c.spec.health && c.state === "RUNNING") description += `; unhealthy: ${c.healthDetail} (${c.healthFailures} of ${c.spec.health.failures})`;
  // sd_notify STATUS= of the current run, as the companion says it
  if (c.notifyStatus && c.pid !== null) description += `; ${c.notifyStatus}`;
  if (logProblem) description += `; log: ${logProblem}`;
  return {
    name: c.name,
    state: c.state,
    pid: c.pid,
    description,
    started_at: epoch(c.startedAt),
    exited_at: epoch(c.exitedAt),
    next_retry_at: c.state === "BACKOFF" ? epoch(c.nextRetryAt) : null,
    restart_delay: c.state === "BACKOFF" && c.retryDelayMs !== null ? c.retryDelayMs / 1000 : null,
    last_exit_code: c.lastExitCode,
    last_exit_signal: c.lastExitSignal,
    restart_count: c.restartCount,
    exit_count: c.exitCount,
    manual_stop: c.manualStop,
    command: typeof c.spec.command === "string" ? c.spec.command : shellJoin(c.spec.command),
    uptime: uptime === null ? null : Math.round(uptime * 1000) / 1000,
    processes: c.pid === null ? 0 : (usage?.processes ?? 1),
    cpu_percent: c.pid === null ? null : (usage?.cpuPercent ?? null),
    rss_bytes: c.pid === null ? null : (usage?.rssBytes ?? null),
    ready: c.spec.ready ? c.state === "RUNNING" && c.ready : null,
    health: c.spec.health && c.state === "RUNNING" ? (c.healthFailures > 0 ? "failing" : "ok") : null,
    waiting_for: c.state === "WAITING" ? c.waitingFor.map((d) => d.name) : [],
    last_stderr: lastStderr,
    instance: c.spec.instance,
  };
}

function epoch(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms) / 1000;
}
