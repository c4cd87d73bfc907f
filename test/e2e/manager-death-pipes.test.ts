// A manager that dies (kill -9, OOM) held the only read ends of its companions' captured
// stdout/stderr pipes. The arbiter stops those companions with their stop signal and
// stop_timeout; it reads their pipes meanwhile, so one that prints while it stops ("stopping…")
// is not killed by SIGPIPE before its cleanup ran, and what it prints reaches sup's stdout.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { alive, census, childrenOf, killAll } from "../helpers/census.ts";
import { SUP, SupFixture } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";
import { pipe } from "../../src/os/libc.ts";

setDefaultTimeout(90_000);

let f: SupFixture;
const extra: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const undo of extra.splice(0)) await undo();
  await f?.cleanup();
});

/** a companion that prints while it stops, then finishes a cleanup that takes a while (a child
 *  its handler starts must not get the stop signal too: `&&` would skip the rest) */
const LOUD = `trap 'echo stopping; sleep 1 && echo "cleanup done" && echo done > "$1"; exit 0' TERM
echo "loud $$ ready"
while :; do sleep 0.1; done
`;
/** one that says nothing while it stops (its trap is set once "$2" exists) */
const QUIET = `trap 'sleep 0.3; echo done > "$1"; exit 0' TERM
: > "$2"
while :; do sleep 0.1; done
`;

function config(dir: (rel: string) => string, more = ""): string {
  return `
[defaults]
startsecs = 0
stop_timeout = 20

[companions.loud]
command = "sh ${dir("loud.sh")} ${dir("loud.flushed")}"

[companions.quiet]
command = "sh ${dir("quiet.sh")} ${dir("quiet.flushed")} ${dir("quiet.ready")}"

[companions.nul]
command = "sh ${dir("nul.sh")} ${dir("nul.flushed")} ${dir("nul.ready")}"
stdout = "null"
${more}`;
}

function setup(more = ""): SupFixture {
  const fx = new SupFixture();
  fx.write(LOUD, "loud.sh");
  fx.write(QUIET, "quiet.sh");
  // stdout = "null": its "stopping" goes nowhere and never hit a dead pipe
  fx.write(QUIET.replace("sleep 0.3;", "echo stopping; sleep 0.3;"), "nul.sh");
  fx.write(config((r) => fx.path(r), more));
  return fx;
}

/** inode of the pipe fd `n` of `pid` is, or null */
function pipeOf(pid: number, n: number): number | null {
  try {
    const m = /^pipe:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${n}`));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** every pipe inode `pid` holds */
function pipesOf(pid: number): Set<number> {
  const out = new Set<number>();
  try {
    for (const n of readdirSync(`/proc/${pid}/fd`)) {
      const i = pipeOf(pid, Number(n));
      if (i !== null) out.add(i);
    }
  } catch {}
  return out;
}

/** wall ms of a sup log line `YYYY-MM-DD HH:MM:SS.mmm sup: <text>` that matches `re` */
function logTime(output: string, re: RegExp): number | null {
  for (const line of output.split("\n")) {
    if (!re.test(line)) continue;
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) /.exec(line);
    if (m) return Date.parse(`${m[1]}T${m[2]}Z`);
  }
  return null;
}

test("a dead manager's companion that prints while it stops finishes its cleanup; its lines reach sup's stdout", async () => {
  f = setup();
  await f.start({ env: { SUP_RESPAWN_MIN_MS: "300", SUP_RESPAWN_MAX_MS: "300" } });
  const loud = await f.waitState("loud", "RUNNING");
  const quiet = await f.waitState("quiet", "RUNNING");
  const nul = await f.waitState("nul", "RUNNING");
  await f.waitOutput(new RegExp(`loud +\\| loud ${loud.pid} ready`)); // its trap is set
  await f.waitFile("quiet.ready", "to exist", () => true);
  await f.waitFile("nul.ready", "to exist", () => true);
  const info = await f.request({ cmd: "info" });
  const arbiter = info.pid as number;
  const manager = info.manager_pid as number;
  expect(manager).toBe(f.managerPid()!);
  // the captured pipes of the old runs: none may stay open in the arbiter or reach the next manager
  const old = new Set([pipeOf(loud.pid!, 1), pipeOf(loud.pid!, 2), pipeOf(quiet.pid!, 1), pipeOf(quiet.pid!, 2), pipeOf(nul.pid!, 2)]);
  old.delete(null);
  expect(pipeOf(nul.pid!, 1)).toBeNull(); // stdout = "null"
  expect(old.size).toBe(5);
  const before = f.output.length;

  const tKill = Date.now();
  process.kill(manager, "SIGKILL");

  // every cleanup ran to its end: none was killed by SIGPIPE (nor by SIGKILL: stop_timeout is 20 s)
  await f.waitFile("loud.flushed", "to be written by loud's TERM trap", (t) => t.includes("done"));
  await f.waitFile("quiet.flushed", "to be written by quiet's TERM trap", (t) => t.includes("done"));
  await f.waitFile("nul.flushed", "to be written by nul's TERM trap", (t) => t.includes("done"));
  // what loud printed while stopping, after its manager died, is on sup's stdout
  await f.waitOutput(/^loud +\| stopping$/m);
  await f.waitOutput(/^loud +\| cleanup done$/m);
  const after = await f.waitOutput(/stopped \d+ leftover process\(es\) of manager/);
  // nul's stdout went to /dev/null and stays there (its stderr is captured: sh's "Terminated" may show)
  expect(after.slice(before)).not.toMatch(/^nul +\| stopping$/m);

  // the window in which a write still found no reader: from the SIGKILL to the pipes being open
  const seen = logTime(after, new RegExp(`manager ${manager} died unexpectedly`));
  const adopted = logTime(after, /reading \d+ output pipe\(s\) of manager/);
  const opened = /reading (\d+) output pipe\(s\) of manager \d+'s companions while they stop \(opened in ([\d.]+) ms/.exec(after);
  expect(seen).not.toBeNull();
  expect(adopted).not.toBeNull();
  expect(opened).not.toBeNull();
  expect(Number(opened![1])).toBe(5);
  console.log(`manager SIGKILL -> death seen: ${seen! - tKill} ms; -> pipes adopted: ${adopted! - tKill} ms (opening took ${opened![2]} ms)`);
  expect(adopted! - tKill).toBeLessThan(2000);

  // nothing of the old runs is left, and the arbiter holds none of their pipes
  await f.waitNoProcs((p) => [loud.pid, quiet.pid, nul.pid].includes(p.pgid), "the old runs to be gone");
  for (const pid of [loud.pid!, quiet.pid!, nul.pid!]) expect(alive(pid)).toBe(false);
  await waitFor("the arbiter to close the adopted pipes", () => [...pipesOf(arbiter)].filter((i) => old.has(i)), (l) => l.length === 0, 5_000);

  // a new manager runs them again and captures their output itself; it never saw the old pipes
  const loud2 = await f.waitEntry("loud", "to run under a new manager", (e) => e.state === "RUNNING" && e.pid !== loud.pid, 20_000);
  await f.waitOutput(new RegExp(`loud +\\| loud ${loud2.pid} ready`));
  const manager2 = f.managerPid()!;
  expect(manager2).not.toBe(manager);
  expect([...pipesOf(manager2)].filter((i) => old.has(i))).toEqual([]);
  expect([...pipesOf(arbiter)].filter((i) => old.has(i))).toEqual([]);
  expect(f.exitCode).toBeNull();

  // and sup stops cleanly, leaving nothing behind
  f.signal("SIGTERM");
  expect(await f.waitExit(30_000)).toBe(0);
  await waitFor("nothing left", () => f.census(), (l) => l.length === 0, 10_000);
});

test("sup's stdout is a pipe and a companion inherits it: that pipe is never adopted (no loop), the captured ones are", async () => {
  f = setup();
  // the fixture's own spawn gives sup a socketpair; here it is a real pipe, as under docker
  f.write(`trap 'echo "inh stopping"; sleep 0.3; echo done > ${f.path("inh.flushed")}; exit 0' TERM\necho "inh $$ ready"\nwhile :; do sleep 0.1; done\n`, "inh.sh");
  f.write(config((r) => f.path(r), `\n[companions.inh]\ncommand = "sh ${f.path("inh.sh")}"\nstdout = "inherit"\n`));
  const [rd, wr] = pipe()!;
  const proc = Bun.spawn([SUP, "run", "-c", f.config], { cwd: f.dir, env: f.env({ SUP_RESPAWN_MIN_MS: "300", SUP_RESPAWN_MAX_MS: "300" }), stdio: ["ignore", wr, wr] });
  closeSync(wr);
  extra.push(async () => {
    if (proc.exitCode === null) {
      proc.kill("SIGTERM");
      await Promise.race([proc.exited, Bun.sleep(15_000)]);
      proc.kill("SIGKILL");
    }
  });
  let out = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of Bun.file(rd).stream()) out += dec.decode(chunk);
  })();
  const loud = await f.waitState("loud", "RUNNING");
  const inh = await f.waitState("inh", "RUNNING");
  await waitFor("loud's and inh's traps to be set", () => out, (o) => new RegExp(`loud +\\| loud ${loud.pid} ready`).test(o) && o.includes(`inh ${inh.pid} ready`));
  await f.waitFile("quiet.ready", "to exist", () => true);
  await f.waitFile("nul.ready", "to exist", () => true);
  expect(pipeOf(inh.pid!, 1)).toBe(pipeOf(proc.pid, 1)); // inh writes to sup's own stdout

  const tKill = Date.now();
  process.kill(f.managerPid()!, "SIGKILL");
  for (const n of ["loud", "quiet", "nul", "inh"]) await f.waitFile(`${n}.flushed`, `to be written by ${n}'s TERM trap`, (t) => t.includes("done"));
  await waitFor("the leftovers to be stopped", () => out, (o) => /stopped \d+ leftover/.test(o), 15_000);
  const adopted = logTime(out, /reading \d+ output pipe\(s\) of manager/);
  console.log(`(stdout a pipe) manager SIGKILL -> pipes adopted: ${adopted! - tKill} ms`);
  expect(out).toMatch(/^loud +\| stopping$/m);
  expect(out).toMatch(/^loud +\| cleanup done$/m);
  // sup's own stdout was left alone: "inh stopping" went out once, as written, and never came back
  await Bun.sleep(500);
  expect(out.match(/inh stopping/g)).toEqual(["inh stopping"]);
  expect(out).toMatch(/^inh stopping$/m);
  // loud 2, quiet 2, nul 1 (stderr), inh 1 (stderr): not inh's stdout
  expect(out).toMatch(/reading 6 output pipe\(s\)/);

  proc.kill("SIGTERM");
  expect(await Promise.race([proc.exited, Bun.sleep(30_000).then(() => "timeout")])).toBe(0);
  await reading;
  closeSync(rd);
  await waitFor("nothing left", () => f.census(), (l) => l.length === 0, 10_000);
});

test("as PID 1 of a PID namespace: a dead manager's companion still finishes its cleanup", async () => {
  f = setup();
  const mark = f.mark;
  const proc = Bun.spawn(["unshare", "--pid", "--fork", "--mount-proc", SUP, "run", "-c", f.config], {
    cwd: f.dir,
    env: f.env({ SUP_RESPAWN_MIN_MS: "300", SUP_RESPAWN_MAX_MS: "300" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  extra.push(() => killAll(mark));
  let out = "";
  const dec = new TextDecoder();
  void (async () => {
    for await (const c of proc.stdout) out += dec.decode(c);
  })();
  void (async () => {
    for await (const c of proc.stderr) out += dec.decode(c);
  })();
  const arbiter = await waitFor("the arbiter under unshare", () => childrenOf(proc.pid).find((p) => p.cmd.includes(" run ")), (p) => !!p, 10_000);
  await waitFor("loud's trap to be set", () => out, (o) => /loud +\| loud \d+ ready/.test(o), 15_000);
  await f.waitFile("quiet.ready", "to exist", () => true);
  await f.waitFile("nul.ready", "to exist", () => true);
  expect(await Bun.file(`/proc/${arbiter!.pid}/status`).text()).toMatch(/NSpid:\s+\d+\s+1\b/);
  const manager = await waitFor("the manager", () => census(mark).find((p) => p.cmd.includes("__manager")), (p) => !!p);
  process.kill(manager!.pid, "SIGKILL");
  for (const n of ["loud", "quiet", "nul"]) await f.waitFile(`${n}.flushed`, `to be written by ${n}'s TERM trap`, (t) => t.includes("done"));
  await waitFor("loud's last words on sup's stdout", () => out, (o) => /^loud +\| cleanup done$/m.test(o), 10_000);
  expect(out).toMatch(/^loud +\| stopping$/m);
  process.kill(arbiter!.pid, "SIGTERM");
  expect(await Promise.race([proc.exited, Bun.sleep(30_000).then(() => "timeout")])).toBe(0);
  await waitFor("nothing left in the namespace", () => census(mark), (l) => l.length === 0, 10_000);
});

test("a dead manager's companion that floods while it stops: the arbiter drops lines (counted), its memory stays bounded", async () => {
  f = new SupFixture();
  // 200 MB of 1000-byte lines after TERM; its helpers ignore TERM (inherited), as the arbiter signals every leftover it sees
  f.write(`trap 'trap "" TERM; head -c 200000000 /dev/zero | tr "\\\\0" x | fold -w 1000; echo done > "$1"; exit 0' TERM\necho "flood $$ ready"\nwhile :; do sleep 0.1; done\n`, "flood.sh");
  f.write(`
[defaults]
startsecs = 0
stop_timeout = 60
[companions.flood]
command = "sh ${f.path("flood.sh")} ${f.path("flood.flushed")}"
`);
  // sup's stdout: a pipe read only once the flood is over
  const [rd, wr] = pipe()!;
  const proc = Bun.spawn([SUP, "run", "-c", f.config], { cwd: f.dir, env: f.env({ SUP_RESPAWN_MIN_MS: "300", SUP_RESPAWN_MAX_MS: "300" }), stdio: ["ignore", wr, "pipe"] });
  closeSync(wr);
  extra.push(async () => {
    if (proc.exitCode === null) {
      proc.kill("SIGTERM");
      await Promise.race([proc.exited, Bun.sleep(15_000)]);
      proc.kill("SIGKILL");
    }
  });
  let err = "";
  void (async () => {
    for await (const c of proc.stderr) err += new TextDecoder().decode(c);
  })();
  const flood = await f.waitState("flood", "RUNNING");
  await waitFor("flood's trap to be set", () => f.census().length, (n) => n >= 3); // arbiter, manager, flood (+ its sleep)
  await Bun.sleep(300);
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))?.[1] ?? 0);
  const base = rss();
  process.kill(f.managerPid()!, "SIGKILL");
  let peak = base;
  await waitFor("flood's cleanup to finish", () => ((peak = Math.max(peak, rss())), f.read("flood.flushed")), (t) => t.includes("done"), 60_000, 50);
  await waitFor("the leftovers to be stopped", () => err, (e) => /stopped \d+ leftover/.test(e), 15_000);
  console.log(`flood of 200 MB: arbiter RSS ${base} kB -> peak ${peak} kB (+${((peak - base) / 1024).toFixed(1)} MiB)`);
  expect(peak - base).toBeLessThan(96 * 1024);
  expect(alive(flood.pid!)).toBe(false);
  // now read sup's stdout: a bounded part of the flood, and the count of what was dropped
  let out = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of Bun.file(rd).stream()) out += dec.decode(chunk);
  })();
  await waitFor("the drop count on sup's stdout", () => out, (o) => /\[sup\] \d+ lines of stopping companions dropped/.test(o), 10_000);
  proc.kill("SIGTERM");
  expect(await Promise.race([proc.exited, Bun.sleep(30_000).then(() => "timeout")])).toBe(0);
  await reading;
  closeSync(rd);
  const dropped = Number(/\[sup\] (\d+) lines of stopping companions dropped/.exec(out)![1]);
  console.log(`flood: ${dropped} lines dropped, ${(out.length / 1048576).toFixed(1)} MiB on sup's stdout`);
  expect(dropped).toBeGreaterThan(1000);
  await waitFor("nothing left", () => f.census(), (l) => l.length === 0, 10_000);
});
