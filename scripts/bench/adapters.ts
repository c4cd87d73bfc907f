// The supervisors under test, behind one small interface: start N companions from a spec list,
// query status (fast path and CLI), stop all, signal the arbiter, name the supervisor's own
// pids, and tear everything down. Adding a peer = one more Peer object.
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { census, childrenOf, cmdline, killMarked, MARK_VAR, readStat } from "./procfs.ts";

export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
/** the sup executable under test; bench.ts points it at a snapshot so a rebuild mid-run changes nothing */
export const supBinary = { path: join(ROOT, "dist/sup") };
/** a second sup executable to compare against (peer "base"), e.g. last week's build; set by bench.ts --base */
export const baseBinary = { path: "" };

export interface CompanionDef {
  name: string;
  /** argv, run without a shell by both supervisors */
  argv: string[];
  /** absolute path the companion's stdout goes to; default: discarded */
  stdout?: string;
  /** sup only: more lines of this companion's TOML table, e.g. `umask = "022"` */
  supToml?: string[];
}

/** identical settings for every peer; each adapter spells them in its own config language */
export interface Settings {
  /** seconds up before STARTING -> RUNNING (supervisord: startsecs) */
  startsecs: number;
  /** sup restart_delay; supervisord has no such setting (it respawns an exited RUNNING process at once) */
  restartDelay: number;
  /** seconds from the stop signal to SIGKILL (sup stop_timeout, supervisord stopwaitsecs) */
  stopTimeout: number;
  /** restart after any exit (sup restart="always", supervisord autorestart=true) or never */
  autorestart: boolean;
  /** supervisord startretries (sup has no limit); null = supervisord's default (3) */
  startretries: number | null;
}

export interface StartOpts {
  dir: string;
  companions: CompanionDef[];
  settings: Settings;
  /** supervisord only: put every program into one [group:], so it stops them together */
  oneGroup?: boolean;
  /** extra environment of the supervisor (e.g. SUP_CONTAINMENT); companions inherit it */
  env?: Record<string, string>;
}

export interface Entry {
  name: string;
  state: string;
  pid: number | null;
}

export interface Instance {
  readonly peer: string;
  readonly dir: string;
  /** performance.now() just before the supervisor was spawned */
  readonly launchedAt: number;
  /** the arbiter (sup run) / supervisord */
  readonly pid: number;
  readonly mark: string;
  /** status over the fastest path (sup: socket; supervisord: XML-RPC over its unix socket) */
  states(timeoutMs?: number): Promise<Entry[]>;
  /** wall ms of one raw status round trip over that path (new connection each time) */
  rawStatusMs(): Promise<number>;
  /** wall ms of the CLI status command, process spawn included */
  ctlStatusMs(): Promise<number>;
  /** wall ms of the CLI doing nothing that touches the server (sup --version, supervisorctl -h): its start-up floor */
  cliFloorMs(): Promise<number>;
  /** wall ms of the CLI "stop all" */
  ctlStopAllMs(): Promise<number>;
  /** start or stop companions over the fast path (sup: one connection, one request per name;
   *  supervisord: XML-RPC startProcess/stopProcess with wait=false, one call per name) */
  command(cmd: "start" | "stop", names: string[]): Promise<void>;
  /** ms after launch of milestones read from the supervisor's own log (diagnostics only) */
  milestones(): Record<string, number>;
  /** the supervisor's own processes (for RSS/PSS/CPU) */
  ownPids(): number[];
  /** the process whose children the companions are */
  childParent(): number;
  signal(sig: NodeJS.Signals): void;
  /** exit code, or null if it has not exited within timeoutMs */
  waitExit(timeoutMs: number): Promise<number | null>;
  exited(): boolean;
  /** stop everything (gracefully, then by force), check nothing is left, remove the folder */
  teardown(): Promise<{ leftovers: number; forced: boolean; stopMs: number }>;
}

export type Detect = { ok: true; version: string } | { ok: false; why: string };

export interface Peer {
  readonly id: string;
  /** which program it is: "sup" for every sup build (sup, base), else the peer's id */
  readonly family: string;
  detect(): Detect;
  start(o: StartOpts): Promise<Instance>;
  /** the settings as this peer's config spells them, for the printout */
  spell(s: Settings): string;
}

// ---------------------------------------------------------------- helpers

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** run a command to completion with a deadline (killed, and an error, when it passes) */
export async function runCmd(argv: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<CmdResult> {
  const t0 = performance.now();
  const p = Bun.spawn(argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill("SIGKILL");
  }, opts.timeoutMs ?? 30_000);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    const ms = performance.now() - t0;
    if (timedOut) throw new Error(`${argv.join(" ")}: no exit within ${opts.timeoutMs ?? 30_000} ms`);
    return { code, stdout, stderr, ms };
  } finally {
    clearTimeout(timer);
  }
}

/** env for the supervisor: ours plus the census marker (companions inherit it) */
function markedEnv(mark: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, extra);
  env[MARK_VAR] = mark;
  env.NO_COLOR = "1";
  return env;
}

/** env for short-lived clients (ctl): without the marker, so a census never counts them */
function clientEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== MARK_VAR) env[k] = v;
  env.NO_COLOR = "1";
  return env;
}

let seq = 0;
const live = new Set<BaseInstance>();

/** emergency cleanup (SIGINT, uncaught error): every instance still alive */
export async function teardownAll(): Promise<void> {
  for (const i of [...live]) {
    try {
      await i.teardown();
    } catch {}
  }
}

abstract class BaseInstance implements Instance {
  abstract readonly peer: string;
  readonly mark = `b${process.pid}-${Date.now()}-${++seq}`;
  launchedAt = 0;
  pid = 0;
  protected proc: Subprocess | null = null;
  private code: number | null = null;
  private exitedP: Promise<number> | null = null;
  private tornDown = false;

  constructor(readonly dir: string) {}

  protected launch(argv: string[], extraEnv: Record<string, string> = {}): void {
    const out = openSync(join(this.dir, "supervisor.out"), "a");
    const err = openSync(join(this.dir, "supervisor.err"), "a");
    try {
      this.launchedAt = performance.now();
      this.proc = Bun.spawn(argv, { cwd: this.dir, env: markedEnv(this.mark, extraEnv), stdio: ["ignore", out, err] });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    this.pid = this.proc.pid;
    this.exitedP = this.proc.exited.then((c) => (this.code = c));
    live.add(this);
  }

  abstract states(timeoutMs?: number): Promise<Entry[]>;
  abstract rawStatusMs(): Promise<number>;
  abstract ctlStatusMs(): Promise<number>;
  abstract ctlStopAllMs(): Promise<number>;
  abstract command(cmd: "start" | "stop", names: string[]): Promise<void>;
  abstract cliFloorMs(): Promise<number>;
  abstract ownPids(): number[];
  abstract childParent(): number;
  abstract milestones(): Record<string, number>;

  /** launch time as epoch ms */
  protected get launchEpoch(): number {
    return performance.timeOrigin + this.launchedAt;
  }

  protected readLog(file: string): string[] {
    try {
      return readFileSync(join(this.dir, file), "utf8").split("\n");
    } catch {
      return [];
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.code === null) this.proc?.kill(sig);
  }

  exited(): boolean {
    return this.code !== null;
  }

  async waitExit(timeoutMs: number): Promise<number | null> {
    if (!this.exitedP) return null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([this.exitedP, new Promise<null>((res) => (timer = setTimeout(() => res(null), timeoutMs)))]);
    clearTimeout(timer);
    return r;
  }

  /** the supervisor's own log (stdout + stderr), tail */
  logTail(bytes = 2000): string {
    let s = "";
    for (const f of ["supervisor.out", "supervisor.err"]) {
      try {
        s += readFileSync(join(this.dir, f), "utf8");
      } catch {}
    }
    return s.slice(-bytes);
  }

  async teardown(): Promise<{ leftovers: number; forced: boolean; stopMs: number }> {
    if (this.tornDown) return { leftovers: 0, forced: false, stopMs: 0 };
    this.tornDown = true;
    const t0 = performance.now();
    let forced = false;
    try {
      if (this.proc && this.code === null) {
        this.proc.kill("SIGTERM");
        if ((await this.waitExit(20_000)) === null) {
          forced = true;
          this.proc.kill("SIGKILL");
          await this.waitExit(5_000);
        }
      }
      const stopMs = performance.now() - t0;
      // the supervisor is gone: anything still carrying our marker is a leftover
      let leftovers = census(this.mark).length;
      if (leftovers) {
        // a supervisor that stopped cleanly may still have children exiting: give them a moment
        const deadline = performance.now() + 2_000;
        while (performance.now() < deadline && (leftovers = census(this.mark).length)) await Bun.sleep(20);
      }
      return { leftovers, forced, stopMs };
    } finally {
      for (let i = 0; i < 50 && killMarked(this.mark); i++) await Bun.sleep(20);
      live.delete(this);
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

// ---------------------------------------------------------------- sup

function tomlString(s: string): string {
  return JSON.stringify(s); // a TOML basic string accepts JSON's escapes
}

function supConfig(o: StartOpts): string {
  const s = o.settings;
  const lines = [
    "[sup]",
    `socket = "sup.sock"`,
    "",
    "[defaults]",
    `startsecs = ${s.startsecs}`,
    `restart = "${s.autorestart ? "always" : "never"}"`,
    `restart_delay = ${s.restartDelay}`,
    `stop_timeout = ${s.stopTimeout}`,
    `reload_timeout = ${s.stopTimeout}`,
    `stdout = "null"`,
    `stderr = "null"`,
  ];
  for (const c of o.companions) {
    lines.push("", `[companions.${c.name}]`, `command = [${c.argv.map(tomlString).join(", ")}]`);
    if (c.stdout) lines.push(`stdout = ${tomlString(c.stdout)}`);
    if (c.supToml) lines.push(...c.supToml);
  }
  return lines.join("\n") + "\n";
}

/** one request over sup's socket, on a new connection */
export async function supRequest(socket: string, req: Record<string, unknown>, timeoutMs = 10_000): Promise<Record<string, any>> {
  return (await supBatch(socket, [req], timeoutMs))[0]!;
}

/** several requests on one new connection (NDJSON, as `sup ctl start a b c` sends them); the replies in order */
export function supBatch(socket: string, reqs: Record<string, unknown>[], timeoutMs = 10_000): Promise<Record<string, any>[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let lines = 0;
    let settled = false;
    const finish = (e: unknown, v?: Record<string, any>[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(v!);
    };
    const timer = setTimeout(() => finish(new Error(`no reply from ${socket} within ${timeoutMs} ms`)), timeoutMs);
    Bun.connect({
      unix: socket,
      socket: {
        open(s) {
          s.write(reqs.map((r) => JSON.stringify(r) + "\n").join(""));
        },
        data(s, chunk) {
          chunks.push(Buffer.from(chunk));
          for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
          if (lines >= reqs.length) {
            const text = Buffer.concat(chunks).toString("utf8");
            try {
              finish(null, text.split("\n").slice(0, reqs.length).map((l) => JSON.parse(l)));
            } catch (e) {
              finish(e);
            }
            s.end(); // may call close() at once: settle first
          }
        },
        close() {
          finish(new Error(`${socket}: closed before a reply`));
        },
        error(_s, e) {
          finish(e);
        },
        connectError(_s, e) {
          finish(e);
        },
      },
    }).catch((e) => finish(e));
  });
}

class SupInstance extends BaseInstance {
  private managerPid = 0;
  readonly config: string;
  readonly socket: string;

  constructor(
    o: StartOpts,
    readonly peer: string,
    private readonly bin: string,
  ) {
    super(o.dir);
    this.config = join(o.dir, "sup.toml");
    this.socket = join(o.dir, "sup.sock");
    writeFileSync(this.config, supConfig(o));
    this.launch([bin, "run", "-c", this.config], o.env);
  }

  async command(cmd: "start" | "stop", names: string[]): Promise<void> {
    const replies = await supBatch(this.socket, names.map((name) => ({ cmd, name })), 30_000);
    const bad = replies.find((r) => !r.ok);
    if (bad) throw new Error(`sup ${cmd} refused: ${JSON.stringify(bad)}`);
  }

  /** the reply of sup's `info` request ({} from a sup without it) */
  async info(): Promise<Record<string, any>> {
    const r = await supRequest(this.socket, { cmd: "info" });
    return r.ok ? r : {};
  }

  async states(timeoutMs = 10_000): Promise<Entry[]> {
    const r = await supRequest(this.socket, { cmd: "status" }, timeoutMs);
    if (!r.ok) throw new Error(`sup status refused: ${JSON.stringify(r)}`);
    return (r.companions as Entry[]).map((c) => ({ name: c.name, state: c.state, pid: c.pid }));
  }

  async rawStatusMs(): Promise<number> {
    const t0 = performance.now();
    const r = await supRequest(this.socket, { cmd: "status" });
    const ms = performance.now() - t0;
    if (!r.ok) throw new Error(`sup status refused: ${JSON.stringify(r)}`);
    return ms;
  }

  async ctlStatusMs(): Promise<number> {
    const r = await runCmd([this.bin, "ctl", "-c", this.config, "status"], { cwd: this.dir, env: clientEnv(), timeoutMs: 15_000 });
    // 4: reachable, but not every companion is as wanted (a crash loop in a scenario): still a status
    if (r.code !== 0 && r.code !== 4) throw new Error(`sup ctl status exited ${r.code}: ${r.stderr.trim()}`);
    return r.ms;
  }

  async cliFloorMs(): Promise<number> {
    const r = await runCmd([this.bin, "--version"], { cwd: this.dir, env: clientEnv(), timeoutMs: 15_000 });
    if (r.code !== 0) throw new Error(`sup --version exited ${r.code}: ${r.stderr.trim()}`);
    return r.ms;
  }

  async ctlStopAllMs(): Promise<number> {
    const r = await runCmd([this.bin, "ctl", "-c", this.config, "stop", "all"], { cwd: this.dir, env: clientEnv(), timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`sup ctl stop all exited ${r.code}: ${r.stderr.trim()}`);
    return r.ms;
  }

  /** from sup's log lines ("2026-01-01 12:00:00.123 sup[manager 42]: ...", UTC) */
  milestones(): Record<string, number> {
    const out: Record<string, number> = {};
    const at = (line: string) => Date.parse(line.slice(0, 23).replace(" ", "T") + "Z") - this.launchEpoch;
    for (const line of this.readLog("supervisor.err")) {
      if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} /.test(line)) continue;
      if (line.includes(": serving ") && out.managerServing === undefined) out.managerServing = at(line);
      if (line.includes("-> STARTING")) {
        out.firstSpawn ??= at(line);
        out.lastSpawn = at(line);
      }
      if (line.includes("-> RUNNING")) out.lastRunning = at(line);
    }
    return out;
  }

  private manager(): number {
    if (this.managerPid && readStat(this.managerPid)?.ppid === this.pid) return this.managerPid;
    const m = childrenOf(this.pid).find((s) => s.state !== "Z" && cmdline(s.pid).includes("__manager"));
    this.managerPid = m?.pid ?? 0;
    return this.managerPid;
  }

  ownPids(): number[] {
    const m = this.manager();
    return m ? [this.pid, m] : [this.pid];
  }

  childParent(): number {
    const m = this.manager();
    if (!m) throw new Error(`sup: no manager process under arbiter ${this.pid}`);
    return m;
  }
}

/** a sup peer; `bin` is read when used (bench.ts points it at a snapshot first) */
function makeSupPeer(id: string, bin: { path: string }): Peer {
  return {
    id,
    family: "sup",
    detect() {
      if (!existsSync(bin.path)) return { ok: false, why: `${bin.path} missing` };
      const r = Bun.spawnSync([bin.path, "--version"]);
      return { ok: true, version: `${id === "sup" ? "" : `${id}: `}${r.stdout.toString().trim()}` };
    },
    async start(o) {
      return new SupInstance(o, id, bin.path);
    },
    spell: supSpell,
  };
}

export const supPeer: Peer = makeSupPeer("sup", supBinary);
/** the same, for the --base binary: compared with "sup" like any other peer */
export const basePeer: Peer = makeSupPeer("base", baseBinary);

function supSpell(s: Settings): string {
  return `startsecs = ${s.startsecs}, restart = "${s.autorestart ? "always" : "never"}", restart_delay = ${s.restartDelay}, stop_timeout = ${s.stopTimeout}, stdout/stderr = "null" unless a file is named`;
}

// ---------------------------------------------------------------- supervisord

/** quote one argv element for supervisord's shlex.split, then escape its %(...)s expansion */
function iniArg(a: string): string {
  const q = /^[A-Za-z0-9_\-.,:/=+@]+$/.test(a) ? a : `'${a.replace(/'/g, `'"'"'`)}'`;
  return q.replace(/%/g, "%%");
}

function iniValue(v: string): string {
  // supervisord's parser treats " ;" and " #" as the start of an inline comment
  if (/\s[;#]/.test(v) || /[\r\n]/.test(v)) throw new Error(`supervisord config value would be cut by an inline comment: ${v}`);
  return v;
}

function supervisordConfig(o: StartOpts): string {
  const s = o.settings;
  const n = o.companions.length;
  const lines = [
    "[unix_http_server]",
    "file=%(here)s/supervisor.sock",
    "chmod=0700",
    "",
    "[supervisord]",
    "nodaemon=true",
    "logfile=%(here)s/supervisord.log",
    "logfile_maxbytes=0",
    "pidfile=%(here)s/supervisord.pid",
    "childlogdir=%(here)s",
    "loglevel=info",
    `minfds=${Math.max(1024, n * 8 + 256)}`,
    `minprocs=${Math.max(200, n * 2 + 100)}`,
    "",
    "[rpcinterface:supervisor]",
    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
    "",
    "[supervisorctl]",
    "serverurl=unix://%(here)s/supervisor.sock",
  ];
  if (o.oneGroup) lines.push("", "[group:all]", `programs=${o.companions.map((c) => c.name).join(",")}`);
  for (const c of o.companions) {
    lines.push(
      "",
      `[program:${c.name}]`,
      `command=${iniValue(c.argv.map(iniArg).join(" "))}`,
      "autostart=true",
      `autorestart=${s.autorestart}`,
      `startsecs=${s.startsecs}`,
      ...(s.startretries !== null ? [`startretries=${s.startretries}`] : []),
      `stopwaitsecs=${s.stopTimeout}`,
      "stopsignal=TERM",
      "stopasgroup=true",
      "killasgroup=true",
      `stdout_logfile=${c.stdout ? iniValue(c.stdout.replace(/%/g, "%%")) : "NONE"}`,
      "stdout_logfile_maxbytes=0",
      "stdout_logfile_backups=0",
      "stderr_logfile=NONE",
      "redirect_stderr=false",
    );
  }
  return lines.join("\n") + "\n";
}

/** one XML-RPC call over supervisord's unix socket; returns the response body */
export async function xmlrpc(socket: string, method: string, timeoutMs = 10_000, params: (string | boolean)[] = []): Promise<string> {
  const esc = (v: string) => v.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const ps = params.map((p) => `<param><value>${typeof p === "boolean" ? `<boolean>${p ? 1 : 0}</boolean>` : `<string>${esc(p)}</string>`}</value></param>`).join("");
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${ps}</params></methodCall>`;
  const res = await fetch("http://localhost/RPC2", {
    method: "POST",
    unix: socket,
    body,
    headers: { "Content-Type": "text/xml", Connection: "close" },
    signal: AbortSignal.timeout(timeoutMs),
    keepalive: false,
  });
  const text = await res.text();
  if (!res.ok || text.includes("<fault>")) throw new Error(`supervisord ${method}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

/** the few fields of getAllProcessInfo the benchmark reads */
export function parseProcessInfo(xml: string): Entry[] {
  const out: Entry[] = [];
  const member = /<member>\s*<name>([^<]*)<\/name>\s*<value>\s*(?:<(\w+)>([^<]*)<\/\2>|([^<]*))\s*<\/value>\s*<\/member>/g;
  for (const struct of xml.split("<struct>").slice(1)) {
    const f: Record<string, string> = {};
    for (const m of struct.matchAll(member)) f[m[1]!] = m[3] ?? m[4] ?? "";
    const pid = Number(f.pid ?? 0);
    out.push({ name: f.name ?? "", state: f.statename ?? "", pid: pid > 0 ? pid : null });
  }
  return out;
}

class SupervisordInstance extends BaseInstance {
  readonly peer = "supervisord";
  readonly config: string;
  readonly socket: string;

  constructor(o: StartOpts) {
    super(o.dir);
    this.config = join(o.dir, "supervisord.conf");
    this.socket = join(o.dir, "supervisor.sock");
    writeFileSync(this.config, supervisordConfig(o));
    this.launch(["supervisord", "-n", "-c", this.config], o.env);
  }

  async command(cmd: "start" | "stop", names: string[]): Promise<void> {
    const method = cmd === "start" ? "supervisor.startProcess" : "supervisor.stopProcess";
    await Promise.all(names.map((n) => xmlrpc(this.socket, method, 30_000, [n, false])));
  }

  async states(timeoutMs = 10_000): Promise<Entry[]> {
    return parseProcessInfo(await xmlrpc(this.socket, "supervisor.getAllProcessInfo", timeoutMs));
  }

  async rawStatusMs(): Promise<number> {
    const t0 = performance.now();
    await xmlrpc(this.socket, "supervisor.getAllProcessInfo");
    return performance.now() - t0;
  }

  async ctlStatusMs(): Promise<number> {
    const r = await runCmd(["supervisorctl", "-c", this.config, "status"], { cwd: this.dir, env: clientEnv(), timeoutMs: 30_000 });
    // exit 3 = some process not RUNNING; anything else with no output is a failure
    if (!r.stdout.trim() || (r.code !== 0 && r.code !== 3)) throw new Error(`supervisorctl status exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.ms;
  }

  async cliFloorMs(): Promise<number> {
    const r = await runCmd(["supervisorctl", "-h"], { cwd: this.dir, env: clientEnv(), timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`supervisorctl -h exited ${r.code}: ${r.stderr.trim()}`);
    return r.ms;
  }

  async ctlStopAllMs(): Promise<number> {
    const r = await runCmd(["supervisorctl", "-c", this.config, "stop", "all"], { cwd: this.dir, env: clientEnv(), timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`supervisorctl stop all exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.ms;
  }

  ownPids(): number[] {
    return [this.pid];
  }

  /** from supervisord.log ("2026-01-01 12:00:00,123 INFO spawned: ...", local time) */
  milestones(): Record<string, number> {
    const out: Record<string, number> = {};
    const at = (line: string) => new Date(line.slice(0, 23).replace(" ", "T").replace(",", ".")).getTime() - this.launchEpoch;
    for (const line of this.readLog("supervisord.log")) {
      if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} /.test(line)) continue;
      if (line.includes("RPC interface 'supervisor' initialized") && out.serverReady === undefined) out.serverReady = at(line);
      if (line.includes(" spawned: ")) {
        out.firstSpawn ??= at(line);
        out.lastSpawn = at(line);
      }
      if (line.includes("entered RUNNING state")) out.lastRunning = at(line);
    }
    return out;
  }

  childParent(): number {
    return this.pid;
  }
}

export const supervisordPeer: Peer = {
  id: "supervisord",
  family: "supervisord",
  detect() {
    const d = Bun.which("supervisord");
    const c = Bun.which("supervisorctl");
    if (!d || !c) return { ok: false, why: "supervisord/supervisorctl not found on PATH; install it with `apt-get install -y supervisor` (Debian/Ubuntu) to compare" };
    const r = Bun.spawnSync([d, "--version"]);
    return { ok: true, version: `supervisord ${r.stdout.toString().trim()}` };
  },
  async start(o) {
    return new SupervisordInstance(o);
  },
  spell(s) {
    return `startsecs=${s.startsecs}, autorestart=${s.autorestart}, startretries=${s.startretries ?? "default (3)"}, stopwaitsecs=${s.stopTimeout}, stopasgroup=killasgroup=true, stdout/stderr_logfile=NONE unless a file is named (maxbytes=0); no restart-delay setting (an exited RUNNING program is respawned at once)`;
  },
};

export const PEERS: Record<string, Peer> = { supervisord: supervisordPeer };
