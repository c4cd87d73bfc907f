// The Prometheus text exposition (format 0.0.4) of sup's state, with the contract's names
// (§11). Pure: entries in, text out; sampled by the caller when asked, never on a timer.
import { STATES } from "../core/types.ts";

/** what one companion contributes: its status entry's keys, plus the CPU seconds of its tree */
export interface MetricsEntry {
  name: string;
  state: string;
  pid: number | null;
  restart_count: number;
  exit_count: number;
  rss_bytes: number | null;
  processes: number;
  cpuSeconds: number | null;
  /** null without a `ready` check */
  ready?: boolean | null;
  /** null without a `health` check (or while not RUNNING) */
  health?: "ok" | "failing" | null;
}

/** a label value as the exposition format wants it: \ " and newline escaped */
function label(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * The exposition text. `managerRestarts`: respawns of the manager since `sup run` started.
 * Every family has its HELP and TYPE once, then one sample per companion (per state for
 * sup_companion_state: 1 for the current one, 0 for the others).
 */
export function metricsText(entries: MetricsEntry[], managerRestarts: number, version: string): string {
  const out: string[] = [];
  const family = (name: string, type: "gauge" | "counter", help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) out.push(`${name}${labels} ${Number.isFinite(v) ? v : 0}`);
  };
  const n = (e: MetricsEntry) => `name="${label(e.name)}"`;
  family(
    "sup_companion_state",
    "gauge",
    "1 for the state the companion is in, 0 for the others",
    entries.flatMap((e) => STATES.map((s): [string, number] => [`{${n(e)},state="${s}"}`, e.state === s ? 1 : 0])),
  );
  family("sup_companion_up", "gauge", "1 when the companion is RUNNING", entries.map((e) => [`{${n(e)}}`, e.state === "RUNNING" ? 1 : 0]));
  // beyond the contract's list: readiness and liveness of the companions that have a check
  family("sup_companion_ready", "gauge", "1 when the companion passed its ready check (companions with `ready` only)", entries.filter((e) => e.ready != null).map((e) => [`{${n(e)}}`, e.ready ? 1 : 0]));
  family("sup_companion_healthy", "gauge", "1 while its health check passes, 0 while it fails (RUNNING companions with `health` only)", entries.filter((e) => e.health != null).map((e) => [`{${n(e)}}`, e.health === "ok" ? 1 : 0]));
  family("sup_companion_restarts_total", "counter", "spawns that followed an earlier run without a manual start", entries.map((e) => [`{${n(e)}}`, e.restart_count]));
  family("sup_companion_exits_total", "counter", "exits of the companion's main process", entries.map((e) => [`{${n(e)}}`, e.exit_count]));
  family("sup_companion_cpu_seconds_total", "counter", "CPU seconds of the current run's process tree", entries.map((e) => [`{${n(e)}}`, e.cpuSeconds ?? 0]));
  family("sup_companion_memory_bytes", "gauge", "resident memory of the process tree", entries.map((e) => [`{${n(e)}}`, e.rss_bytes ?? 0]));
  family("sup_companion_processes", "gauge", "live processes in the companion's tree", entries.map((e) => [`{${n(e)}}`, e.processes]));
  family("sup_companions_alive", "gauge", "companions with a live process", [["", entries.filter((e) => e.pid !== null).length]]);
  family("sup_manager_restarts_total", "counter", "times the arbiter respawned the manager", [["", managerRestarts]]);
  family("sup_build_info", "gauge", "always 1; the version is a label", [[`{version="${label(version)}"}`, 1]]);
  return out.join("\n") + "\n";
}
