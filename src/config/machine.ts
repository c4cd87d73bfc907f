// A valid config against this machine, for `sup check`: would each companion start, or be FATAL
// at once (command not found or not executable, cwd missing, a log folder sup cannot write)?
// Reads the file system (stat, access) and never changes it; `user` / `group` are validate.ts's.
import { accessSync, constants, statSync, type Stats } from "node:fs";
import { delimiter, dirname, resolve } from "node:path";
import type { CompanionSpec, SupConfig } from "./schema.ts";
import { SHELL_WORDS } from "./validate.ts";

export interface MachineProblem {
  /** the key path it is about: where the key is written ([defaults] or the companion's table) */
  path: (string | number)[];
  message: string;
}

/** where a companion's key is written: its own table, else [defaults] */
export type KeyHome = (companion: string, key: string) => (string | number)[];

/** PATH when neither the companion's env nor sup's own has one (what execvp falls back to) */
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/**
 * Every reason a companion of `config` would be FATAL when sup starts it now, each once (a
 * [defaults] key shared by many companions is named once). `env` is sup's own environment.
 */
export function machineProblems(config: SupConfig, home: KeyHome, env: Record<string, string | undefined> = process.env): MachineProblem[] {
  const out: MachineProblem[] = [];
  const seen = new Set<string>();
  const add = (path: (string | number)[], message: string | null) => {
    if (message === null) return;
    const key = `${path.join(".")}\0${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ path, message });
  };
  // sup binds its sockets there: a missing or read-only folder stops `sup run` at once
  add(["sup", "socket"], folderProblem(config.socket, "socket"));
  if (config.statusSocket) add(["sup", "status_socket"], folderProblem(config.statusSocket, "status_socket"));
  for (const c of config.companions) {
    // the instances web.1 … web.N of [companions.web] are named by their table, once
    const table = (c as { base?: string }).base ?? c.name;
    const cwd = cwdProblem(c.cwd);
    add(home(table, "cwd"), cwd);
    // without its cwd the command cannot be looked up as the companion would see it
    if (cwd === null) for (const m of commandProblems(c, env)) add(["companions", table, "command"], m);
    // an exec check runs in the companion's cwd and env: a missing program would fail every probe
    for (const use of ["ready", "health"] as const) {
      const probe = c[use]?.probe;
      if (cwd !== null || probe?.kind !== "exec") continue;
      const script = probe.argv[0] === "/bin/sh" && probe.argv[1] === "-c" ? probe.argv[2]! : null;
      for (const m of commandProblems(c, env, probe.argv, script)) add(["companions", table, use, "exec"], m);
    }
    if (c.stdout.kind === "file") add(home(table, "stdout"), logProblem(c.stdout.path));
    if (c.stderr.kind === "file") add(home(table, "stderr"), logProblem(c.stderr.path));
    const captured = c.stdout.kind === "capture" || c.stderr.kind === "capture";
    if (captured && c.log.file !== null) add(home(table, "log_file"), logProblem(c.log.file));
  }
  return out;
}

function stat(path: string): Stats | NodeJS.ErrnoException {
  try {
    return statSync(path);
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
}

function can(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** the same words as the manager's spawn (bun-host.ts checkCwd) */
function cwdProblem(cwd: string): string | null {
  const st = stat(cwd);
  if (st instanceof Error) return st.code === "EACCES" ? `cannot enter cwd ${cwd}: permission denied` : `cwd not found: ${cwd}`;
  if (!st.isDirectory()) return `cwd is not a folder: ${cwd}`;
  return can(cwd, constants.X_OK) ? null : `cannot enter cwd ${cwd}: permission denied`;
}

/**
 * The program of an argv command; for a string run with /bin/sh -c, the shell and, when the
 * script starts with a plain program name (or `exec NAME`), that program too.
 */
function commandProblems(c: CompanionSpec, env: Record<string, string | undefined>, argv: string[] = c.argv, script: string | null = typeof c.command === "string" ? c.command : null): string[] {
  const fromEnv = c.env.PATH !== undefined;
  const path = c.env.PATH ?? env.PATH ?? DEFAULT_PATH;
  const programs = [argv[0]!];
  if (script !== null && argv[0] === "/bin/sh" && argv[1] === "-c") {
    const first = firstProgram(script);
    if (first !== null) programs.push(first);
  }
  const out: string[] = [];
  for (const p of programs) {
    const m = programProblem(p, path, c.cwd, fromEnv);
    if (m) out.push(m);
  }
  return out;
}

/** the program a shell script runs first, when that is plain to see: `prog args > x`, `exec prog` */
export function firstProgram(script: string): string | null {
  const word = /^\s*(?:exec\s+)?([^\s;&|<>()]+)(?=$|[\s;&|<>()])/.exec(script)?.[1];
  if (word === undefined || !/^[A-Za-z0-9_.\/+-]+$/.test(word) || SHELL_WORDS.has(word) || word.startsWith("-")) return null;
  return word;
}

/** where execve would find `cmd` (as limits.ts findExecutable looks it up), or why it would not */
function programProblem(cmd: string, path: string, cwd: string, fromEnv: boolean): string | null {
  if (cmd.includes("/")) {
    const p = resolve(cwd, cmd);
    const st = stat(p);
    if (st instanceof Error) return st.code === "EACCES" ? `permission denied: ${p}` : `command not found: ${cmd}${p === cmd ? "" : ` (no file ${p})`}`;
    if (!st.isFile()) return `not a program: ${p} is ${st.isDirectory() ? "a folder" : "not a regular file"}`;
    return can(p, constants.X_OK) ? null : `not executable: ${p} (no execute permission)`;
  }
  let notExecutable: string | null = null;
  for (const dir of path.split(delimiter)) {
    const p = resolve(cwd, dir || ".", cmd);
    const st = stat(p);
    if (st instanceof Error || !st.isFile()) continue;
    if (can(p, constants.X_OK)) return null;
    notExecutable ??= p;
  }
  if (notExecutable !== null) return `not executable: ${notExecutable} (no execute permission), and no other ${cmd} on PATH`;
  return `command not found: ${cmd} (not on ${fromEnv ? "its env's" : "sup's"} PATH=${path})`;
}

/** the folder of a socket sup will bind: it must exist and be writable (sup does not create it) */
function folderProblem(path: string, what: string): string | null {
  const dir = dirname(path);
  const d = stat(dir);
  if (d instanceof Error) return d.code === "EACCES" ? `cannot reach the ${what} folder ${dir}: permission denied` : `the ${what} folder ${dir} does not exist (create it, e.g. systemd RuntimeDirectory= or mkdir -p)`;
  if (!d.isDirectory()) return `the ${what} folder ${dir} is not a folder`;
  return can(dir, constants.W_OK | constants.X_OK) ? null : `the ${what} folder ${dir} is not writable`;
}

/** a log file sup (or the companion) appends to: writable if it exists, else its folder must be */
function logProblem(file: string): string | null {
  const st = stat(file);
  if (!(st instanceof Error)) {
    if (st.isDirectory()) return `log file ${file} is a folder`;
    return can(file, constants.W_OK) ? null : `cannot write log file ${file}: permission denied`;
  }
  const dir = dirname(file);
  const d = stat(dir);
  if (d instanceof Error) return d.code === "EACCES" ? `cannot reach log folder ${dir}: permission denied` : `log folder not found: ${dir}`;
  if (!d.isDirectory()) return `log folder ${dir} is not a folder`;
  return can(dir, constants.W_OK | constants.X_OK) ? null : `log folder ${dir} is not writable`;
}
