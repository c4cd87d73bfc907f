// How status entries read to a person (the table, one companion's detail) and whether each is
// as wanted (exit 4 of status and wait). Pure: the caller passes the time and the colour choice.
import { formatUptime, type StatusEntry } from "../core/describe.ts";

/** a status entry as the CLI reads it: rev 2 keys may be absent from an older manager */
export type Entry = StatusEntry & {
  ready?: boolean | null;
  health?: string | null;
  waiting_for?: string[];
  last_stderr?: string[];
  success_exit_codes?: number[];
  [key: string]: unknown;
};

export interface View {
  /** wall clock, epoch ms */
  now: number;
  color: boolean;
}

const STATE_COLOR: Record<string, string> = { RUNNING: "32", STARTING: "36", WAITING: "36", BACKOFF: "33", STOPPING: "33", FATAL: "31", EXITED: "35", STOPPED: "2" };
const paint = (s: string, state: string, v: View) => (v.color && STATE_COLOR[state] ? `\x1b[${STATE_COLOR[state]}m${s}\x1b[0m` : s);

/**
 * As wanted (contract §6, exit 4): RUNNING and not unready nor unhealthy; stopped by the operator
 * or never started (autostart = false); EXITED with a success code (only such an exit ends in
 * EXITED under restart = never|on-failure without being a failure).
 */
export function isWanted(e: Entry): boolean {
  switch (e.state) {
    case "RUNNING":
      return e.ready !== false && e.health !== "failing";
    case "STOPPED":
      return e.manual_stop || /\bnot started$/.test(e.description) || e.description.endsWith(", removed");
    case "EXITED":
      return e.last_exit_signal === null && e.last_exit_code !== null && (e.success_exit_codes ?? [0]).includes(e.last_exit_code);
    default:
      return false;
  }
}

/** bytes as ps/top show them: 812K, 3.1M, 1.2G (powers of 1024) */
export function formatBytes(n: number): string {
  const units = ["B", "K", "M", "G", "T"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v}B` : `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

/** a span of seconds in its largest unit: 45s, 3m, 2h, 4d */
export function formatSpan(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** LAST-EXIT: `0`, `1`, `SIGKILL`, with how long ago (`1 (3m ago)`); `-` when it never exited */
export function lastExit(e: Entry, v: View): string {
  const what = e.last_exit_signal ?? (e.last_exit_code === null ? null : String(e.last_exit_code));
  if (what === null) return "-";
  return e.exited_at === null ? what : `${what} (${formatSpan(v.now / 1000 - e.exited_at)} ago)`;
}

const EXIT_TEXT = /^(exited with status -?\d+|killed by SIG[A-Z0-9+-]+|killed by unknown signal)$/;

/**
 * What the description says that the other columns do not: not the state word, the pid, the
 * uptime nor the last exit; e.g. "retrying in 3s", "command not found: foo", "for db (ready)".
 * Plus "not ready" / "health failing" of a RUNNING one. "" when nothing is left.
 */
export function reason(e: Entry): string {
  // "; " parts follow the state's own: unhealthy details, sd_notify STATUS=, a log problem
  const [head = "", ...tail] = e.description.split("; ");
  let d = head;
  const state = e.state.toLowerCase();
  if (d === state) d = "";
  else if (d.startsWith(state + ", ")) d = d.slice(state.length + 2);
  d = d.replace(/(^|, )pid \d+(?=, |$)/, "$1").replace(/(^|, )uptime (\d+ days?, )?\d+:\d\d:\d\d(?=, |$)/, "$1");
  const parts = d.split(", ").filter((p) => p !== "" && !EXIT_TEXT.test(p));
  if (e.state === "RUNNING" && e.ready === false && !parts.some((p) => p.startsWith("not ready"))) parts.push("not ready");
  if (e.health === "failing" && !tail.some((p) => p.startsWith("unhealthy"))) parts.push("health failing");
  return [parts.join(", "), ...tail].filter(Boolean).join("; ");
}

const HEAD = ["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST-EXIT", "CPU", "RSS"];

/** the aligned table; the REASON column only when some row has one */
export function table(list: Entry[], v: View): string {
  const rows = list.map((c) => [
    c.name,
    c.state,
    c.pid === null ? "-" : String(c.pid),
    c.uptime === null || c.uptime === undefined ? "-" : formatUptime(c.uptime),
    String(c.restart_count),
    lastExit(c, v),
    c.cpu_percent === null || c.cpu_percent === undefined ? "-" : `${c.cpu_percent.toFixed(1)}%`,
    c.rss_bytes === null || c.rss_bytes === undefined ? "-" : formatBytes(c.rss_bytes),
    reason(c),
  ]);
  const withReason = rows.some((r) => r.at(-1) !== "");
  const head = withReason ? [...HEAD, "REASON"] : HEAD;
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[], state?: string) =>
    cells
      .slice(0, head.length)
      .map((s, i) => {
        const padded = i === head.length - 1 ? s : s.padEnd(widths[i]!);
        return i === 1 && state ? paint(padded, state, v) : padded;
      })
      .join("  ")
      .trimEnd();
  const out = [line(head), ...rows.map((r) => line(r, r[1]))];
  if (!rows.length) out.push("(no companions)");
  return out.join("\n") + "\n";
}

/** epoch seconds as local time with how far from now: "2026-11-30 12:00:01 (3m ago)" */
function when(epoch: number | null, v: View): string {
  if (epoch === null) return "-";
  const d = new Date(epoch * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  const delta = epoch - v.now / 1000;
  return `${stamp} (${delta >= 0 ? `in ${formatSpan(delta)}` : `${formatSpan(-delta)} ago`})`;
}

const yesNo = (b: unknown) => (b === null || b === undefined ? "-" : b ? "yes" : "no");

/** how each known key reads; any other key is shown as it is */
const FORMAT: Record<string, (value: unknown, e: Entry, v: View) => string> = {
  state: (s, _e, v) => paint(String(s), String(s), v),
  started_at: (t, _e, v) => when(t as number | null, v),
  exited_at: (t, _e, v) => when(t as number | null, v),
  next_retry_at: (t, _e, v) => when(t as number | null, v),
  restart_delay: (s) => (s === null ? "-" : `${s}s`),
  uptime: (s) => (s === null ? "-" : formatUptime(s as number)),
  cpu_percent: (p) => (p === null ? "-" : `${(p as number).toFixed(1)}%`),
  rss_bytes: (b) => (b === null ? "-" : `${formatBytes(b as number)} (${b} bytes)`),
  manual_stop: yesNo,
  ready: yesNo,
  waiting_for: (l) => ((l as string[]).length ? (l as string[]).join(", ") : "-"),
};

/** one companion: every key of its entry, human-formatted, last_stderr as indented lines */
export function detail(e: Entry, v: View): string {
  const keys = Object.keys(e).filter((k) => k !== "last_stderr");
  const w = Math.max(...keys.map((k) => k.length), "last_stderr".length);
  const show = (k: string): string => {
    const value = e[k];
    if (FORMAT[k]) return FORMAT[k]!(value, e, v);
    if (value === null || value === undefined) return "-";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  };
  const lines = keys.map((k) => `${k.padEnd(w)}  ${show(k)}`.trimEnd());
  const stderr = e.last_stderr ?? [];
  lines.push(stderr.length ? `last_stderr${stderr.length ? ` (${stderr.length} line${stderr.length === 1 ? "" : "s"}):` : ""}` : `${"last_stderr".padEnd(w)}  -`);
  for (const l of stderr) lines.push(`  | ${l}`);
  return lines.join("\n") + "\n";
}
