// Runs the compiled dist/sup against a temp folder: start `sup run`, talk to its socket, run
// `sup ctl`, and clean up so that no process a test started survives it.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { setDefaultTimeout } from "bun:test";
import { census, killAll, type Proc } from "./census.ts";
import { waitFor } from "./wait.ts";

export const ROOT = resolve(import.meta.dir, "../..");
/** the binary under test: dist/sup, or SUP_TEST_BIN (lets parallel work build and test its own copy) */
export const SUP = process.env.SUP_TEST_BIN || join(ROOT, "dist/sup");
export const FIXTURES = join(ROOT, "test/fixtures");

export interface Entry {
  name: string;
  state: string;
  pid: number | null;
  description: string;
  restart_count: number;
  exit_count: number;
  manual_stop: boolean;
  last_exit_code: number | null;
  last_exit_signal: string | null;
  restart_delay: number | null;
  next_retry_at: number | null;
  started_at: number | null;
  exited_at: number | null;
  command: string;
  [k: string]: unknown;
}

// e2e tests spawn real processes: give them room on a slow shared machine. bunfig's [test]
// timeout is not applied, and bun resets the default for every file while this module loads
// only once per run, so each e2e file calls setDefaultTimeout itself too.
setDefaultTimeout(60_000);

let counter = 0;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** run `dist/sup ARGS` to completion (killed after timeoutMs); for check, version, a refused run */
export async function runSup(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  const p = Bun.spawn([SUP, ...args], { cwd: opts.cwd ?? ROOT, env: opts.env ?? { ...(process.env as Record<string, string>), NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 20_000);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

export class SupFixture {
  readonly dir: string;
  readonly mark = `t${process.pid}-${Date.now()}-${++counter}`;
  proc: Subprocess<"ignore", "pipe", "pipe"> | null = null;
  output = "";
  exitCode: number | null = null;
  private exited: Promise<number> | null = null;

  constructor(toml?: string) {
    this.dir = mkdtempSync(join(tmpdir(), "sup-test-"));
    if (toml !== undefined) this.write(toml);
  }

  get config(): string {
    return join(this.dir, "sup.toml");
  }
  get socket(): string {
    return join(this.dir, "sup.sock");
  }

  write(toml: string, file = "sup.toml"): void {
    writeFileSync(join(this.dir, file), toml);
  }

  /** absolute path of `rel` inside the test folder */
  path(rel: string): string {
    return join(this.dir, rel);
  }

  mkdir(rel: string): string {
    const p = this.path(rel);
    mkdirSync(p, { recursive: true });
    return p;
  }

  /** a file's text inside the test folder, "" when it does not exist */
  read(rel: string): string {
    const p = this.path(rel);
    return existsSync(p) ? readFileSync(p, "utf8") : "";
  }

  /** wait until the file `rel` satisfies `ok`; returns its text */
  waitFile(rel: string, what: string, ok: (text: string) => boolean, timeoutMs = 15_000): Promise<string> {
    return waitFor(`${rel} ${what}`, () => this.read(rel), ok, timeoutMs);
  }

  /**
   * wait until a fixture that installs a signal trap (ignore-term, slow-stop, record-signals) is
   * ready: each says "ready" right after its trap, and a signal that comes before kills it
   * instead. `sup` reports it RUNNING at once with startsecs = 0, so wait for this before the
   * first stop / restart / signal can reach it. Reads `file` (default "NAME.log": the
   * companion's stdout, which sup appends to), and waits for at least `count` (default 1) lines
   * with "ready", one per process started; or, with `pid`, for the line of that process
   * ("ignore-term PID ready", "slow-stop PID ready"). Returns the file's text.
   */
  waitReady(name: string, opts: { count?: number; pid?: number; file?: string; timeoutMs?: number } = {}): Promise<string> {
    const { count = 1, pid, file = `${name}.log`, timeoutMs = 15_000 } = opts;
    const readyLines = (t: string) => t.split("\n").filter((l) => /\bready\b/.test(l));
    if (pid !== undefined) {
      const mine = new RegExp(`\\b${pid} ready\\b`);
      return this.waitFile(file, `to say "${pid} ready" (${name}'s trap is set)`, (t) => readyLines(t).some((l) => mine.test(l)), timeoutMs);
    }
    return this.waitFile(file, `to have ${count} "ready" line(s) (${name}'s trap is set)`, (t) => readyLines(t).length >= count, timeoutMs);
  }

  /** wait until sup's own output (arbiter + manager, stdout + stderr) matches */
  waitOutput(re: RegExp, timeoutMs = 15_000): Promise<string> {
    return waitFor(`sup output to match ${re}`, () => this.output, (o) => re.test(o), timeoutMs);
  }

  /** name -> pid of every companion in status */
  async pids(): Promise<Record<string, number | null>> {
    return Object.fromEntries((await this.status()).map((e) => [e.name, e.pid]));
  }

  /** pid of the live manager process (`sup __manager`), from the census */
  managerPid(): number | undefined {
    return this.census().find((p) => p.cmd.includes("__manager"))?.pid;
  }

  /** run `dist/sup ARGS` in this folder with this test's environment, to completion */
  sup(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
    return runSup(args, { cwd: opts.cwd ?? this.dir, env: this.env(opts.env), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(process.env as Record<string, string>), SUP_TEST_MARK: this.mark, PATH: `${FIXTURES}:${process.env.PATH}`, NO_COLOR: "1", ...extra };
  }

  /**
   * `sup run` in the folder; resolves once the socket answers (unless waitReady is false).
   * `argv` replaces the whole command line (another copy of the binary, a shell that sets a
   * limit first); `proc` is then that process.
   */
  async start(opts: { waitReady?: boolean; args?: string[]; env?: Record<string, string>; cwd?: string; argv?: string[] } = {}): Promise<void> {
    this.exitCode = null;
    this.proc = Bun.spawn(opts.argv ?? [SUP, "run", "-c", this.config, ...(opts.args ?? [])], {
      cwd: opts.cwd ?? this.dir,
      env: this.env(opts.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = async (s: ReadableStream<Uint8Array>) => {
      const dec = new TextDecoder();
      for await (const chunk of s) this.output += dec.decode(chunk);
    };
    void collect(this.proc.stdout);
    void collect(this.proc.stderr);
    this.exited = this.proc.exited.then((c) => (this.exitCode = c));
    if (opts.waitReady === false) return;
    const r = await waitFor(
      "sup to answer on its socket",
      async () => (this.exitCode !== null ? { exited: this.exitCode } : await this.request({ cmd: "version" })),
      (r) => r.ok === true || "exited" in r,
      15_000,
      20,
    );
    if ("exited" in r) throw new Error(`sup run exited with ${r.exited} before serving its socket; output:\n${this.output}`);
  }

  /** one raw request over the socket */
  async request(req: Record<string, unknown>): Promise<Record<string, any>> {
    return (await this.requestLines([JSON.stringify(req)]))[0]!;
  }

  /** raw lines (each without "\n"), one reply per line, in order */
  async requestLines(lines: string[], timeoutMs = 10_000): Promise<Record<string, any>[]> {
    const replies: Record<string, any>[] = [];
    let buf = "";
    return await new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no reply in ${timeoutMs} ms (got ${replies.length}/${lines.length})`)), timeoutMs);
      // a long payload is written in parts: keep the rest and resend it on drain
      let out = Buffer.from(lines.map((l) => l + "\n").join(""));
      const send = (s: { write(b: Buffer): number }) => {
        if (out.length) out = out.subarray(Math.max(0, s.write(out)));
      };
      Bun.connect({
        unix: this.socket,
        socket: {
          open(s) {
            send(s);
          },
          drain(s) {
            send(s);
          },
          data(s, chunk) {
            buf += chunk.toString();
            let i: number;
            while ((i = buf.indexOf("\n")) >= 0) {
              replies.push(JSON.parse(buf.slice(0, i)));
              buf = buf.slice(i + 1);
            }
            if (replies.length >= lines.length) {
              clearTimeout(t);
              s.end();
              res(replies);
            }
          },
          close() {
            clearTimeout(t);
            if (replies.length < lines.length) rej(new Error(`closed after ${replies.length}/${lines.length} replies`));
          },
          error(_s, e) {
            clearTimeout(t);
            rej(e);
          },
          connectError(_s, e) {
            clearTimeout(t);
            rej(e);
          },
        },
      }).catch((e) => {
        clearTimeout(t);
        rej(e);
      });
    });
  }

  async status(): Promise<Entry[]> {
    const r = await this.request({ cmd: "status" });
    if (!r.ok) throw new Error(`status failed: ${JSON.stringify(r)}`);
    return r.companions as Entry[];
  }

  async entry(name: string): Promise<Entry> {
    const e = (await this.status()).find((c) => c.name === name);
    if (!e) throw new Error(`no companion ${name} in status`);
    return e;
  }

  /** wait until `name` satisfies `ok` */
  waitEntry(name: string, what: string, ok: (e: Entry) => boolean, timeoutMs = 15_000): Promise<Entry> {
    return waitFor(`${name} ${what}`, () => this.entry(name), ok, timeoutMs);
  }

  waitState(name: string, state: string, timeoutMs = 15_000): Promise<Entry> {
    return this.waitEntry(name, `to be ${state}`, (e) => e.state === state, timeoutMs);
  }

  /** wait until every one of `names` is RUNNING; their pids by name */
  async allRunning(names: string[]): Promise<Record<string, number>> {
    const pids: Record<string, number> = {};
    for (const n of names) pids[n] = (await this.waitState(n, "RUNNING")).pid!;
    return pids;
  }

  /** `sup ctl ...` with this folder's config */
  async ctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const p = Bun.spawn([SUP, "ctl", "-c", this.config, ...args], { cwd: this.dir, env: this.env(), stdio: ["ignore", "pipe", "pipe"] });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  }

  signal(sig: NodeJS.Signals | number): void {
    this.proc?.kill(sig);
  }

  /** wait for `sup run` to exit; returns its code */
  async waitExit(timeoutMs = 20_000): Promise<number> {
    if (!this.exited) throw new Error("not started");
    const code = await Promise.race([this.exited, Bun.sleep(timeoutMs).then(() => null)]);
    if (code === null) throw new Error(`sup run did not exit within ${timeoutMs} ms; output:\n${this.output}`);
    return code;
  }

  census() {
    return census(this.mark);
  }

  /**
   * wait until no live process of this test matches `which` (default: any). A group's other
   * members may still be dying when its leader has been reaped, so this waits (briefly).
   */
  waitNoProcs(which: (p: Proc) => boolean = () => true, what = "no process of this test left", timeoutMs = 5_000): Promise<Proc[]> {
    return waitFor(what, () => this.census().filter(which), (l) => l.length === 0, timeoutMs);
  }

  /** stop sup (TERM, then KILL), kill anything left with our marker, remove the folder */
  async cleanup(): Promise<void> {
    if (this.proc && this.exitCode === null) {
      this.proc.kill("SIGTERM");
      const code = await Promise.race([this.exited, Bun.sleep(15_000).then(() => null)]);
      if (code === null) this.proc.kill("SIGKILL");
    }
    try {
      await waitFor("no process of this test left", () => this.census(), (l) => l.length === 0, 5_000);
    } finally {
      killAll(this.mark);
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** the exact success reply of start / stop / restart */
export function okReply(message: string): Record<string, unknown> {
  return { ok: true, message };
}

/** the exact error envelope of the contract: message and error carry the same text */
export function errReply(message: string, code: string): Record<string, unknown> {
  return { ok: false, message, error: message, code };
}
