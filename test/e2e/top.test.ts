// `sup top` (contract §11) in a pseudo-terminal: util-linux `script` gives it one (CI installs
// no apt packages, so no tmux); keys go in through script's stdin, the raw screen output comes
// back on its stdout, and `stty -a` after top exits shows the tty mode it left behind.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import type { Subprocess } from "bun";
import { SUP, SupFixture } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";

setDefaultTimeout(60_000);

const ENTER_ALT = "\x1b[?1049h";
const LEAVE_ALT = "\x1b[?1049l";
const SHOW_CURSOR = "\x1b[?25h";

let f: SupFixture;
let term: Pty | null = null;
afterEach(async () => {
  term?.kill();
  term = null;
  await f?.cleanup();
});

const CONFIG = `
[companions.alpha]
command = ["say", "alpha"]
startsecs = 0
[companions.beta]
command = ["say", "beta"]
startsecs = 0
`;

interface Pty {
  proc: Subprocess<"pipe", "pipe", "ignore">;
  raw: () => string;
  send: (keys: string) => void;
  exited: Promise<number>;
  kill: () => void;
}

/** `sup top -c FILE` in a 120x30 pseudo-terminal; after it exits, `stty -a` prints the tty's mode */
function runTop(f: SupFixture): Pty {
  if (!Bun.which("script")) throw new Error("`script` (util-linux) is required for the sup top tests: it provides the pseudo-terminal; install util-linux");
  const inner = `stty cols 120 rows 30; "$0" top -c "$1"; rc=$?; echo; echo "== top exited $rc"; stty -a; exit $rc`;
  const cmd = `sh -c '${inner}' '${SUP}' '${f.config}'`;
  // -e: script exits with the child's code; -f: flush at once; -q: no banner
  const proc = Bun.spawn(["script", "-qefc", cmd, "/dev/null"], { cwd: f.dir, env: f.env({ TERM: "xterm" }), stdio: ["pipe", "pipe", "ignore"] });
  let raw = "";
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stdout) raw += dec.decode(chunk, { stream: true });
  })();
  return {
    proc,
    raw: () => raw,
    send: (keys) => {
      proc.stdin.write(keys);
      proc.stdin.flush();
    },
    exited: proc.exited,
    kill: () => {
      if (proc.exitCode === null) proc.kill("SIGKILL");
    },
  };
}

/** the last frame drawn: rows by the cursor moves `ESC [ row ; 1 H`, other escapes removed */
function screen(raw: string): string {
  const start = raw.lastIndexOf("\x1b[1;1H");
  if (start < 0) return "";
  let frame = raw.slice(start);
  const leave = frame.indexOf(LEAVE_ALT);
  if (leave >= 0) frame = frame.slice(0, leave);
  return frame
    .replace(/\x1b\[\d+;1H/g, "\n")
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
    .replace(/\r/g, "");
}

/** a row of the last frame: [marker, name, state, pid] */
function row(raw: string, name: string): { selected: boolean; state: string; pid: number } | null {
  const m = new RegExp(`^(>| ) ${name}\\s+(\\S+)\\s+(\\d+|-)`, "m").exec(screen(raw));
  return m ? { selected: m[1] === ">", state: m[2]!, pid: Number(m[3]) } : null;
}

/** what top left behind: the alternate screen and the cursor restored, the tty out of raw mode */
function expectRestored(raw: string, code: number): void {
  const after = raw.slice(raw.lastIndexOf(ENTER_ALT));
  expect(raw.includes(ENTER_ALT)).toBe(true);
  expect(after.includes(LEAVE_ALT)).toBe(true);
  expect(after.includes(SHOW_CURSOR)).toBe(true);
  const tail = raw.slice(raw.lastIndexOf(LEAVE_ALT));
  expect(tail).toContain(`== top exited ${code}`);
  const mode = tail.slice(tail.indexOf("== top exited"));
  // canonical mode and echo are back (raw mode has -icanon -echo)
  expect(mode).toMatch(/(^|[\s;])icanon\b/);
  expect(mode).toMatch(/(^|[\s;])echo\b/);
  // nothing of the table is drawn after the alternate screen was left
  expect(tail.includes("RESTARTS")).toBe(false);
}

test("top: the live table in a terminal; r restarts the selected companion; q leaves and restores the terminal", async () => {
  f = new SupFixture(CONFIG);
  await f.start();
  const pids = await f.allRunning(["alpha", "beta"]);
  term = runTop(f);
  const t = term;
  // both rows, RUNNING with their pids; the first one selected; its log at the bottom
  await waitFor("top to draw both companions RUNNING", () => t.raw(), (r) => row(r, "alpha")?.state === "RUNNING" && row(r, "beta")?.state === "RUNNING", 15_000);
  expect(screen(t.raw())).toContain("NAME");
  expect(row(t.raw(), "alpha")).toEqual({ selected: true, state: "RUNNING", pid: pids.alpha! });
  expect(row(t.raw(), "beta")).toEqual({ selected: false, state: "RUNNING", pid: pids.beta! });
  await waitFor("alpha's log tail on screen", () => screen(t.raw()), (s) => s.includes("alpha out"), 10_000);
  // down selects beta (its log replaces alpha's); up back to alpha
  t.send("j");
  await waitFor("beta selected", () => t.raw(), (r) => row(r, "beta")?.selected === true && screen(r).includes("beta out"), 10_000);
  t.send("\x1b[A");
  await waitFor("alpha selected again", () => t.raw(), (r) => row(r, "alpha")?.selected === true, 10_000);
  // r restarts alpha: the reply in the status line, a new pid through the socket and on screen
  t.send("r");
  const fresh = await f.waitEntry("alpha", "to run with a new pid", (e) => e.state === "RUNNING" && e.pid !== null && e.pid !== pids.alpha);
  await waitFor("the restart's reply and the new pid on screen", () => t.raw(), (r) => /alpha restart/.test(screen(r)) && row(r, "alpha")?.pid === fresh.pid, 10_000);
  expect((await f.entry("beta")).pid).toBe(pids.beta!);
  // q: exit 0, the alternate screen left, the cursor shown, the tty back in canonical mode
  t.send("q");
  const code = await Promise.race([t.exited, Bun.sleep(10_000).then(() => "still running")]);
  expect(code).toBe(0);
  expectRestored(t.raw(), 0);
  // sup run untouched
  expect((await f.entry("alpha")).state).toBe("RUNNING");
});

test("top: sup going away (SIGTERM to sup run) ends top with exit 3 and 'sup went away' after the terminal is restored", async () => {
  f = new SupFixture(CONFIG);
  await f.start();
  await f.allRunning(["alpha", "beta"]);
  term = runTop(f);
  const t = term;
  await waitFor("top to draw both companions", () => t.raw(), (r) => row(r, "alpha") !== null && row(r, "beta") !== null, 15_000);
  f.signal("SIGTERM");
  expect(await f.waitExit()).toBe(0);
  const code = await Promise.race([t.exited, Bun.sleep(15_000).then(() => "still running")]);
  expect(code).toBe(3);
  const raw = t.raw();
  expectRestored(raw, 3);
  expect(raw.slice(raw.lastIndexOf(LEAVE_ALT))).toContain("sup went away");
});

test("top with stdout not a terminal: one status table, like status", async () => {
  f = new SupFixture(CONFIG);
  await f.start();
  await f.allRunning(["alpha", "beta"]);
  const r = await f.sup(["top", "-c", f.config]);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe("");
  expect(r.stdout).toMatch(/^NAME\s+STATE\s+PID\s+UPTIME\s+RESTARTS\s+LAST-EXIT\s+CPU\s+RSS\n/);
  expect(r.stdout).toMatch(/^alpha\s+RUNNING\s+\d+/m);
  expect(r.stdout).toMatch(/^beta\s+RUNNING\s+\d+/m);
  expect(r.stdout).not.toContain("\x1b");
});
