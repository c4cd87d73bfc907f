// `sup ctl`: talks to the manager's socket. Owns the wording and the exit status of replies:
// 0 ok, 1 refused, 2 usage / invalid config, 3 unreachable.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "citty";
import { configPath } from "../config/path.ts";
import { parseSignal } from "../config/signals.ts";
import { formatUptime, type StatusEntry } from "../core/describe.ts";
import { request, UnreachableError } from "../control/client.ts";
import type { Json } from "../control/protocol.ts";
import { checkFlags, configArg, UsageError } from "./args.ts";
import { err, out } from "./output.ts";

export const ctlArgs = {
  ...configArg,
  socket: { type: "string", alias: "s", description: "control socket path (overrides the config)", valueHint: "SOCKET" },
  json: { type: "boolean", description: "status: print the reply as JSON" },
} as const;

export const CTL_USAGE = `usage:
  sup ctl [-c FILE | -s SOCKET] status [--json] [NAME...]
  sup ctl [-c FILE | -s SOCKET] start|stop|restart NAME... | all
  sup ctl [-c FILE | -s SOCKET] reread
  sup ctl [-c FILE | -s SOCKET] signal SIGNAL NAME...
  sup ctl [-c FILE | -s SOCKET] info [--json]`;

export async function ctl(raw: string[]): Promise<number> {
  checkFlags(raw, ctlArgs);
  const args = parseArgs(raw, ctlArgs);
  const [verb, ...rest] = args._ as string[];
  if (!verb) throw new UsageError("missing command");
  const socket = args.socket ? resolve(args.socket) : socketFromConfig(args.config as string | undefined);
  if (typeof socket !== "string") return socket.code;
  try {
    switch (verb) {
      case "status":
        return await status(socket, rest, !!args.json);
      case "start":
      case "stop":
      case "restart":
        if (!rest.length) throw new UsageError(`${verb} needs NAME... or all`);
        return await perName(socket, verb, rest);
      case "reread":
        if (rest.length) throw new UsageError("reread takes no arguments");
        return await reread(socket);
      case "info": {
        if (rest.length) throw new UsageError("info takes no arguments");
        const [r] = await request(socket, [{ cmd: "info" }]);
        if (!r!.ok) return refused(r!);
        if (args.json) out(JSON.stringify(r, null, 2) + "\n");
        else for (const [k, v] of Object.entries(r!)) if (k !== "ok") out(`${k}: ${v ?? "-"}\n`);
        return 0;
      }
      case "signal": {
        const [sig, ...names] = rest;
        if (!sig || !names.length) throw new UsageError("signal needs SIGNAL NAME...");
        const name = parseSignal(sig);
        if (!name) throw new UsageError(`unknown signal ${JSON.stringify(sig)}`);
        return await signal(socket, name, names);
      }
      default:
        throw new UsageError(`unknown ctl command '${verb}'`);
    }
  } catch (e) {
    if (e instanceof UnreachableError) {
      const hint = args.socket && e.kind === "a regular file" ? ": did you mean -c?" : "";
      err(`sup: ${e.message}${hint}\n`);
      return 3;
    }
    throw e;
  }
}

/** the socket path from the config; only [sup].socket is read, so a config with other problems still works */
function socketFromConfig(flag: string | undefined): string | { code: number } {
  const file = configPath(flag);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    err(`sup: cannot read config ${file} to find the control socket; pass -c FILE or -s SOCKET\n`);
    return { code: 2 };
  }
  let socket = scanSocket(text);
  if (socket === undefined) {
    try {
      const raw = Bun.TOML.parse(text) as { sup?: { socket?: unknown } };
      socket = typeof raw.sup?.socket === "string" ? raw.sup.socket : null;
    } catch (e) {
      err(`sup: invalid TOML in ${file}: ${(e as Error).message}; pass -s SOCKET\n`);
      return { code: 2 };
    }
  }
  return resolve(file, "..", socket ?? "sup.sock");
}

/**
 * [sup].socket from the text without parsing the whole file (a 1000-companion config costs
 * ~7 ms to parse; a status call is ~15 ms in all). Returns the value, null when the key is
 * surely absent, undefined when the file is not plain enough to tell (then TOML decides).
 */
export function scanSocket(text: string): string | null | undefined {
  let inSup = false;
  let sawHeader = false;
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    if (t.startsWith("[")) {
      sawHeader = true;
      inSup = /^\[\s*sup\s*\]\s*(#.*)?$/.test(t);
      continue;
    }
    if (!sawHeader && /^("?)sup\1\s*[.=]/.test(t)) return undefined; // sup.socket = … / sup = { … } at the top
    if (!inSup || !/^("?)socket\1\s*=/.test(t)) continue;
    const m = /^("?)socket\1\s*=\s*(?:"([^"\\]*)"|'([^']*)')\s*(#.*)?$/.exec(t);
    return m ? (m[2] ?? m[3])! : undefined;
  }
  return null;
}

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const STATE_COLOR: Record<string, string> = { RUNNING: "32", STARTING: "36", BACKOFF: "33", STOPPING: "33", FATAL: "31", EXITED: "35", STOPPED: "2" };
const paint = (s: string, state: string, width: number) => (color && STATE_COLOR[state] ? `\x1b[${STATE_COLOR[state]}m${s.padEnd(width)}\x1b[0m` : s.padEnd(width));

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

async function status(socket: string, names: string[], json: boolean): Promise<number> {
  const [reply] = await request(socket, [{ cmd: "status", ...(names.length ? { names } : {}) }]);
  if (json) {
    out(JSON.stringify(reply, null, 2) + "\n");
    return reply!.ok ? 0 : 1;
  }
  if (!reply!.ok) return refused(reply!);
  const list = reply!.companions as StatusEntry[];
  const rows = list.map((c) => [
    c.name,
    c.state,
    c.pid === null ? "-" : String(c.pid),
    c.uptime === null || c.uptime === undefined ? "-" : formatUptime(c.uptime),
    String(c.restart_count),
    c.cpu_percent === null || c.cpu_percent === undefined ? "-" : `${c.cpu_percent.toFixed(1)}%`,
    c.rss_bytes === null || c.rss_bytes === undefined ? "-" : formatBytes(c.rss_bytes),
    c.description,
  ]);
  const head = ["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "CPU", "RSS", "DESCRIPTION"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const table = [head.map((h, i) => (i === head.length - 1 ? h : h.padEnd(widths[i]!))).join("  ")];
  for (const r of rows) table.push(r.map((v, i) => (i === 1 ? paint(v, v, widths[i]!) : i === r.length - 1 ? v : v.padEnd(widths[i]!))).join("  "));
  if (!rows.length) table.push("(no companions)");
  out(table.join("\n") + "\n");
  return 0;
}

async function perName(socket: string, cmd: string, names: string[]): Promise<number> {
  const targets = names.includes("all") ? await allNames(socket) : names;
  if (!targets.length) {
    out("no companions\n");
    return 0;
  }
  const replies = await request(socket, targets.map((name) => ({ cmd, name })));
  return report(replies);
}

async function signal(socket: string, sig: string, names: string[]): Promise<number> {
  const targets = names.includes("all") ? await allNames(socket) : names;
  return report(await request(socket, targets.map((name) => ({ cmd: "signal", name, signal: sig }))));
}

async function allNames(socket: string): Promise<string[]> {
  const [reply] = await request(socket, [{ cmd: "status" }]);
  return ((reply?.companions as StatusEntry[]) ?? []).map((c) => c.name);
}

function report(replies: Json[]): number {
  let code = 0;
  for (const r of replies) {
    if (r.ok) out(`${r.message}\n`);
    else code = Math.max(code, refused(r));
  }
  return code;
}

function refused(r: Json): number {
  err(`sup: ${r.error ?? r.message}\n`);
  return r.code === "INVALID_CONFIG" ? 2 : 1;
}

async function reread(socket: string): Promise<number> {
  const [r] = await request(socket, [{ cmd: "reread" }]);
  if (!r!.ok) return refused(r!);
  for (const k of ["added", "removed", "restarted", "unchanged"] as const) {
    const list = r![k] as string[];
    out(`${k}: ${list.length ? list.join(", ") : "-"}\n`);
  }
  // applied in part (e.g. a socket path that cannot be taken): say so, and fail loudly
  const warnings = (r!.warnings as string[] | undefined) ?? [];
  for (const w of warnings) err(`sup: not applied: ${w}\n`);
  return warnings.length ? 1 : 0;
}
