// Captured companion output (contract §8) through the real binary, real pipes and real files:
// a rotated log byte-identical to what the child wrote (nothing lost at its exit), many
// companions exiting at once, reopen after an external mv + SIGUSR1, an unwritable log file and
// a full disk (the companion keeps running, writing resumes), `ctl logs` and `-f` across a
// restart, a follower that never reads, sup's stdout a pipe nobody reads (bounded, then the
// dropped-lines note), /dev/stdout inside, JSON and timestamps, last_stderr, binary data, the
// console prefix.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alive } from "../helpers/census.ts";
import { connect } from "../helpers/socket.ts";
import { SUP, SupFixture } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";

setDefaultTimeout(90_000);

let f: SupFixture;
/** run after sup is gone (a fifo's read end, a tmpfs) */
let after: (() => void)[] = [];
afterEach(async () => {
  try {
    await f?.cleanup();
  } finally {
    for (const fn of after.splice(0).reverse()) fn();
  }
});

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const seqBytes = (from: number, to: number) => Bun.spawnSync(["seq", String(from), String(to)]).stdout as Buffer;
const waitUntil = <T>(what: string, probe: () => T | Promise<T>, ok: (v: T) => boolean, ms = 30_000) => waitFor(what, probe, ok, ms);

/** `path.N` … `path.1`, then `path`: the rotated files of one log, oldest first */
function rotated(path: string): string[] {
  const dir = path.slice(0, path.lastIndexOf("/"));
  const base = path.slice(path.lastIndexOf("/") + 1);
  const ns = readdirSync(dir)
    .map((n) => (n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : NaN))
    .filter((n) => Number.isInteger(n))
    .sort((a, b) => b - a);
  return [...ns.map((n) => `${path}.${n}`), ...(existsSync(path) ? [path] : [])];
}

function fileSizeOf(p: string): number {
  return existsSync(p) ? statSync(p).size : 0;
}

function vmRssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** a process that keeps reading a stream into `text` */
function collect(s: ReadableStream<Uint8Array>): { readonly text: string } {
  const box = { text: "" };
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of s) box.text += dec.decode(chunk, { stream: true });
  })();
  return box;
}

const until = (file: string) => `while [ ! -e ${file} ]; do sleep 0.02; done`;

describe("file sink: lossless", () => {
  test("20 MB through a rotated log: backups + current byte-identical to what the child wrote, complete when its exit is recorded; a restart loop keeps going meanwhile", async () => {
    f = new SupFixture(`
[defaults]
log_console = false
startsecs = 0

[companions.big]
# half, then (once told) the other half right before its exit
command = ["sh", "-c", "seq 1 1300000; ${until("go")}; seq 1300001 2600000"]
restart = "never"
log_file = "logs/{name}.log"
log_max_bytes = "1MB"
log_backups = 40

[companions.loop]
command = ["sh", "-c", "echo run $$$$; exit 0"]
restart = "always"
restart_delay = 0.05
backoff = "fixed"
log_file = "logs/{name}.log"
`);
    f.mkdir("logs");
    await f.start();
    const log = f.path("logs/big.log");
    const half = seqBytes(1, 1300000);
    // the first half is in the files while the child still runs
    await waitUntil("the first half in big's rotated files", () => rotated(log).reduce((n, p) => n + statSync(p).size, 0), (n) => n >= half.length);
    const r0 = (await f.entry("loop")).restart_count;
    await waitUntil("loop to restart while big's pipe is busy", () => f.entry("loop"), (e) => e.restart_count >= r0 + 3);
    writeFileSync(f.path("go"), "");
    // the first status that shows the exit: every byte is already in the files
    const done = await waitUntil("big to exit", () => f.entry("big"), (e) => e.exit_count >= 1);
    const files = rotated(log);
    const want = seqBytes(1, 2600000);
    const got = Buffer.concat(files.map((p) => readFileSync(p)));
    expect(done.state).toBe("EXITED");
    expect(got.length).toBe(want.length);
    expect(sha(got)).toBe(sha(want));
    expect(files.length).toBeGreaterThanOrEqual(20);
    expect(f.output).not.toContain("big | "); // log_console = false
    for (const p of files) {
      const b = readFileSync(p);
      expect(b.length).toBeLessThanOrEqual(1_000_000); // pipe reads are far smaller than 1 MB: never over size
      expect(b[b.length - 1]).toBe(10); // whole lines at a time: no line split across two files
    }
    const r1 = (await f.entry("loop")).restart_count;
    await waitUntil("loop to keep restarting", () => f.entry("loop"), (e) => e.restart_count >= r1 + 3);
    // each run of loop wrote its line, none lost
    await f.request({ cmd: "stop", name: "loop", wait: true });
    const loop = await f.entry("loop");
    const runs = f.read("logs/loop.log").split("\n").filter(Boolean);
    expect(runs.length).toBe(loop.exit_count);
    expect(runs.every((l) => /^run \d+$/.test(l))).toBe(true);
  });

  test("20 companions writing 4 MB each and exiting at once lose nothing", async () => {
    const names = Array.from({ length: 20 }, (_, i) => `c${String(i).padStart(2, "0")}`);
    const lines = 310_000; // "cNN 00000001\n": 13 bytes a line, ~4 MB
    f = new SupFixture(`
[defaults]
log_console = false
startsecs = 0
restart = "never"
log_file = "logs/{name}.log"
log_max_bytes = 0
${names.map((n) => `[companions.${n}]\ncommand = ["sh", "-c", "${until("go")}; seq -f '${n} %08.0f' 1 ${lines}"]\n`).join("\n")}
`);
    f.mkdir("logs");
    await f.start();
    await f.allRunning(names);
    writeFileSync(f.path("go"), "");
    const seen = new Set<string>();
    const hashes: Record<string, string> = {};
    // each one is checked on the first status that shows its exit
    await waitUntil(
      "all 20 to exit",
      async () => {
        for (const e of await f.status()) {
          if (seen.has(e.name) || e.exit_count < 1) continue;
          seen.add(e.name);
          hashes[e.name] = sha(readFileSync(f.path(`logs/${e.name}.log`)));
        }
        return seen.size;
      },
      (n) => n === names.length,
      60_000,
    );
    for (const n of names) {
      const want = Bun.spawnSync(["seq", "-f", `${n} %08.0f`, "1", String(lines)]).stdout as Buffer;
      expect(want.length).toBeGreaterThan(4_000_000);
      expect({ name: n, hash: hashes[n] }).toEqual({ name: n, hash: sha(want) });
    }
  });

  test("all 256 byte values pass through the file sink intact, the partial last line included", async () => {
    const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i)), Buffer.from([0, 0xff, 0xfe, 0x80, 0xc3])]);
    f = new SupFixture(`
[companions.bin]
command = ["cat", "bytes.bin"]
restart = "never"
startsecs = 0
log_console = false
log_file = "bin.log"
`);
    writeFileSync(f.path("bytes.bin"), bytes);
    await f.start();
    await f.waitEntry("bin", "to exit", (e) => e.exit_count >= 1);
    const got = readFileSync(f.path("bin.log"));
    expect(got.length).toBe(bytes.length);
    expect(got.equals(bytes)).toBe(true);
  });

  test("rotation keeps log_backups files: the newest bytes, starting at a line", async () => {
    f = new SupFixture(`
[companions.rot]
command = ["seq", "1", "200000"]
restart = "never"
startsecs = 0
log_console = false
log_file = "rot.log"
log_max_bytes = "100KB"
log_backups = 2
`);
    await f.start();
    await f.waitEntry("rot", "to exit", (e) => e.exit_count >= 1);
    const files = rotated(f.path("rot.log"));
    expect(files.map((p) => p.slice(p.lastIndexOf("/") + 1))).toEqual(["rot.log.2", "rot.log.1", "rot.log"]);
    const got = Buffer.concat(files.map((p) => readFileSync(p)));
    const want = seqBytes(1, 200000);
    expect(got.length).toBeGreaterThan(100_000);
    expect(want.subarray(want.length - got.length).equals(got)).toBe(true);
    expect(want[want.length - got.length - 1]).toBe(10); // the oldest kept file starts a line
  });

  test("a line over 64 KiB: whole in the file, split in 64 KiB pieces for ctl logs; a last line without newline is kept", async () => {
    f = new SupFixture(`
[companions.long]
command = ["sh", "-c", "head -c 200000 /dev/zero | tr '\\\\0' x; echo; printf 'no newline at the end'"]
restart = "never"
startsecs = 0
log_console = false
log_file = "long.log"
`);
    await f.start();
    await f.waitEntry("long", "to exit", (e) => e.exit_count >= 1);
    expect(f.read("long.log")).toBe("x".repeat(200000) + "\nno newline at the end");
    const r = await f.request({ cmd: "logs", names: ["long"] });
    expect(r.lines.map((l: any) => l.line.length)).toEqual([65536, 65536, 65536, 200000 - 3 * 65536, "no newline at the end".length]);
    expect(r.lines[4].line).toBe("no newline at the end");
  });

  test("output without newlines reaches the file while the companion runs (what waits for a newline is bounded)", async () => {
    f = new SupFixture(`
[companions.z]
command = ["sh", "-c", "head -c 2000000 /dev/zero; ${until("go")}"]
restart = "never"
startsecs = 0
log_console = false
log_file = "z.log"
`);
    await f.start();
    // never unbounded (contract §8): at most a 64 KiB line may wait for its newline
    await waitUntil("the bytes in the file while z runs", () => fileSizeOf(f.path("z.log")), (n) => n >= 2_000_000 - 64 * 1024, 15_000);
    expect((await f.entry("z")).state).toBe("RUNNING");
    writeFileSync(f.path("go"), "");
    await f.waitEntry("z", "to exit", (e) => e.exit_count >= 1);
    expect(readFileSync(f.path("z.log")).equals(Buffer.alloc(2_000_000))).toBe(true);
  });

  test("/dev/stdout and /dev/stderr work inside a captured companion", async () => {
    f = new SupFixture(`
[companions.dev]
command = ["sh", "-c", "echo via-dev-stdout > /dev/stdout && echo via-dev-stderr > /dev/stderr && echo both-ok; exec sleep 1000000"]
startsecs = 0
log_console = false
log_file = "dev.log"
`);
    await f.start();
    await f.waitFile("dev.log", "to have all three lines", (t) => t.includes("both-ok"));
    const text = f.read("dev.log");
    expect(text).toContain("via-dev-stdout\n");
    expect(text).toContain("via-dev-stderr\n");
    const r = await f.request({ cmd: "logs", names: ["dev"] });
    expect(r.lines.map((l: any) => [l.stream, l.line])).toEqual(
      expect.arrayContaining([
        ["stdout", "via-dev-stdout"],
        ["stderr", "via-dev-stderr"],
        ["stdout", "both-ok"],
      ]),
    );
    expect((await f.entry("dev")).state).toBe("RUNNING");
  });
});

describe("file sink: rotation from outside, problems", () => {
  test("SIGUSR1 reopens the log after an external mv; old + new hold every line once", async () => {
    f = new SupFixture(`
[companions.web]
command = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo \\"line $i\\"; sleep 0.01; done"]
startsecs = 0
log_console = false
log_file = "web.log"
`);
    await f.start();
    await f.waitFile("web.log", "to have lines", (t) => t.split("\n").length > 10);
    renameSync(f.path("web.log"), f.path("web.log.old"));
    // it still writes to the moved file until told
    const size = statSync(f.path("web.log.old")).size;
    await waitUntil("the moved file to keep growing", () => statSync(f.path("web.log.old")).size, (n) => n > size);
    expect(existsSync(f.path("web.log"))).toBe(false);
    f.signal("SIGUSR1");
    await f.waitFile("web.log", "to be reopened and written", (t) => t.split("\n").length > 10);
    await f.waitOutput(/SIGUSR1: reopened 1 log file/);
    expect(await f.request({ cmd: "stop", name: "web", wait: true })).toMatchObject({ ok: true });
    const all = (f.read("web.log.old") + f.read("web.log")).split("\n").filter(Boolean);
    const nums = all.map((l) => Number(/^line (\d+)$/.exec(l)?.[1]));
    expect(nums).toEqual(Array.from({ length: nums.length }, (_, i) => i + 1));
    expect(f.read("web.log").startsWith("line ")).toBe(true);
  });

  test("an unwritable log_file (its folder is a regular file): the companion runs, the log names the problem, writing resumes once it can", async () => {
    f = new SupFixture(`
[companions.web]
command = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo \\"line $i\\"; sleep 0.02; done"]
startsecs = 0.2
log_console = false
log_file = "notadir/{name}.log"
`);
    writeFileSync(f.path("notadir"), "a regular file\n");
    await f.start();
    const out = await f.waitOutput(/web: cannot \w+ \S*notadir\/web\.log: .*; the companion keeps running/);
    expect(out).toMatch(/not a directory \(ENOTDIR\)/);
    const e = await f.waitState("web", "RUNNING");
    expect(alive(e.pid!)).toBe(true);
    // ctl logs still has its lines (the ring does not depend on the file)
    const r = await f.request({ cmd: "logs", names: ["web"], lines: 3 });
    expect(r.lines.length).toBe(3);
    // contract §8: "the problem shows in status and the log" (checked at the end)
    const statusWhileFailing = JSON.stringify(await f.entry("web"));
    // the folder appears: writing resumes by itself (retried at most once a second)
    unlinkSync(f.path("notadir"));
    mkdirSync(f.path("notadir"));
    await f.waitFile("notadir/web.log", "to be written", (t) => /^line \d+\n/.test(t) && t.split("\n").length > 5);
    await f.waitOutput(/web: writing \S*notadir\/web\.log again/);
    expect((await f.entry("web")).pid).toBe(e.pid);
    expect(statusWhileFailing).toContain("notadir/web.log");
  });

  const isRoot = process.getuid?.() === 0;
  test.skipIf(!isRoot)("a full disk (64k tmpfs): the companion keeps running, the log says so, writing resumes after space is freed", async () => {
    const disk = mkdtempSync(join(tmpdir(), "sup-logs-disk-"));
    const sh = (argv: string[]) => Bun.spawnSync(argv, { stderr: "pipe" });
    const m = sh(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", disk]);
    if (m.exitCode !== 0) throw new Error(`mount: ${m.stderr}`);
    after.push(() => {
      // sup is gone by now (its fd on the disk closed); -l if something still holds it
      if (sh(["umount", disk]).exitCode !== 0) sh(["umount", "-l", disk]);
      rmSync(disk, { recursive: true, force: true });
    });
    writeFileSync(join(disk, "filler"), Buffer.alloc(40 * 1024, 0x2e));
    f = new SupFixture(`
[companions.web]
command = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo \\"line $i padding padding padding padding padding padding\\"; sleep 0.002; done"]
startsecs = 0.2
log_console = false
log_file = "${disk}/{name}.log"
log_max_bytes = 0
`);
    await f.start();
    const log = join(disk, "web.log");
    await f.waitOutput(/web: cannot write \S+\/web\.log: no space left on device \(ENOSPC\); the companion keeps running/);
    const e = await f.waitState("web", "RUNNING");
    expect(e.description).toMatch(/; log: cannot write \S+\/web\.log: no space left on device \(ENOSPC\)/);
    const full = readFileSync(log, "utf8");
    const lastBefore = Math.max(...[...full.matchAll(/^line (\d+) /gm)].map((x) => Number(x[1])));
    expect(lastBefore).toBeGreaterThan(0);
    unlinkSync(join(disk, "filler"));
    await f.waitOutput(/web: writing \S+\/web\.log again/);
    await waitUntil(
      "newer lines after the freed space",
      () => readFileSync(log, "utf8"),
      (t) => [...t.matchAll(/^line (\d+) /gm)].some((x) => Number(x[1]) > lastBefore + 5),
    );
    const now = await f.entry("web");
    expect(now.description).not.toContain("log:");
    expect(now.pid).toBe(e.pid);
    expect(now.restart_count).toBe(0);
    // sup stopped before the unmount (afterEach runs cleanup first)
  });
});

describe("ctl logs", () => {
  const conf = `
[defaults]
startsecs = 0
log_console = false

[companions.a]
command = ["sh", "-c", "echo \\"a1 $$$$\\"; echo \\"a2 $$$$\\"; echo \\"a3 $$$$\\"; sleep 0.3; echo \\"e1 $$$$\\" >&2; echo \\"e2 $$$$\\" >&2; sleep 0.3; echo \\"a4 $$$$\\"; exec sleep 1000000"]

[companions.bb]
command = ["sh", "-c", "echo b1; echo b2; exec sleep 1000000"]
`;

  test("-n, names, --stderr, --json and the request itself", async () => {
    f = new SupFixture(conf);
    await f.start();
    const pid = (await f.waitState("a", "RUNNING")).pid!;
    await waitUntil("a's lines in the ring", () => f.request({ cmd: "logs", names: ["a"] }), (r) => r.lines?.length === 6);
    await waitUntil("bb's lines in the ring", () => f.request({ cmd: "logs", names: ["bb"] }), (r) => r.lines?.length === 2);

    const r = await f.request({ cmd: "logs", names: ["a"], lines: 100 });
    expect(r.ok).toBe(true);
    expect(r.lines.map((l: any) => `${l.stream}:${l.line}`)).toEqual([`stdout:a1 ${pid}`, `stdout:a2 ${pid}`, `stdout:a3 ${pid}`, `stderr:e1 ${pid}`, `stderr:e2 ${pid}`, `stdout:a4 ${pid}`]);
    for (const l of r.lines) {
      expect(Object.keys(l).sort()).toEqual(["line", "name", "stream", "ts"]);
      expect(l.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }

    let c = await f.ctl("logs", "-n", "2", "a");
    expect(c).toMatchObject({ code: 0, stderr: "" });
    expect(c.stdout).toBe(`a (stderr) | e2 ${pid}\na | a4 ${pid}\n`);

    c = await f.ctl("logs", "--stderr", "a");
    expect(c.stdout).toBe(`a (stderr) | e1 ${pid}\na (stderr) | e2 ${pid}\n`);

    c = await f.ctl("logs", "--stdout", "-n", "1", "a");
    expect(c.stdout).toBe(`a | a4 ${pid}\n`);

    c = await f.ctl("logs", "bb");
    expect(c.stdout).toBe("bb | b1\nbb | b2\n");

    c = await f.ctl("logs");
    const all = c.stdout.split("\n").filter(Boolean);
    expect(all.length).toBe(8);
    expect(all).toEqual(expect.arrayContaining(["bb | b1", `a | a4 ${pid}`, `a (stderr) | e1 ${pid}`]));

    c = await f.ctl("logs", "--json", "-n", "1", "a");
    const j = c.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    expect(j).toEqual([{ ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), name: "a", stream: "stdout", line: `a4 ${pid}` }]);

    c = await f.ctl("logs", "-n", "0", "a");
    expect(c).toMatchObject({ code: 0, stdout: "" });

    c = await f.ctl("logs", "nosuch");
    expect(c.code).toBe(1);
    expect(c.stderr).toContain("nosuch");

    c = await f.ctl("logs", "-n", "x");
    expect(c.code).toBe(2);
  });

  test("-f: the backlog, then new lines of both runs across a restart, until the client goes", async () => {
    f = new SupFixture(conf);
    await f.start();
    const pid1 = (await f.waitState("a", "RUNNING")).pid!;
    await waitUntil("a's lines in the ring", () => f.request({ cmd: "logs", names: ["a"] }), (r) => r.lines?.length === 6);
    const p = Bun.spawn([SUP, "ctl", "-c", f.config, "logs", "-f", "-n", "1", "a"], { cwd: f.dir, env: f.env(), stdio: ["ignore", "pipe", "pipe"] });
    after.push(() => p.kill("SIGKILL"));
    const out = collect(p.stdout);
    await waitUntil("the backlog line", () => out.text, (t) => t.includes(`a | a4 ${pid1}`));
    expect(out.text).toBe(`a | a4 ${pid1}\n`); // -n 1: one line of backlog
    expect(await f.request({ cmd: "restart", name: "a", wait: true })).toMatchObject({ ok: true });
    const pid2 = (await f.waitState("a", "RUNNING")).pid!;
    expect(pid2).not.toBe(pid1);
    await waitUntil("the new run's lines", () => out.text, (t) => t.includes(`a | a4 ${pid2}`), 20_000);
    expect(out.text).toBe([`a | a4 ${pid1}`, `a | a1 ${pid2}`, `a | a2 ${pid2}`, `a | a3 ${pid2}`, `a (stderr) | e1 ${pid2}`, `a (stderr) | e2 ${pid2}`, `a | a4 ${pid2}`].join("\n") + "\n");
    p.kill("SIGINT");
    expect(await Promise.race([p.exited, Bun.sleep(10_000).then(() => "still running")])).not.toBe("still running");
  });

  test("requests pipelined after a follow are not answered; the stream goes on", async () => {
    f = new SupFixture(conf);
    await f.start();
    const pid = (await f.waitState("a", "RUNNING")).pid!;
    await waitUntil("a's lines in the ring", () => f.request({ cmd: "logs", names: ["a"] }), (r) => r.lines?.length === 6);
    const t = await connect(f.socket);
    after.push(() => t.close());
    t.write(JSON.stringify({ cmd: "logs", names: ["a"], lines: 1, follow: true }) + "\n" + JSON.stringify({ cmd: "status" }) + "\n");
    await waitUntil("the stream's first lines", () => t.text, (x) => x.split("\n").length >= 3);
    t.write(JSON.stringify({ cmd: "version" }) + "\n");
    expect(await f.request({ cmd: "restart", name: "a", wait: true })).toMatchObject({ ok: true });
    const pid2 = (await f.waitState("a", "RUNNING")).pid!;
    await waitUntil("the new run's last line", () => t.text, (x) => x.includes(`a4 ${pid2}`));
    const objs = t.text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(objs[0]).toEqual({ ok: true, streaming: true });
    expect(objs[1]).toMatchObject({ name: "a", stream: "stdout", line: `a4 ${pid}` });
    expect(objs.slice(1).every((o) => typeof o.line === "string" && o.name === "a")).toBe(true);
    expect(objs.some((o) => "companions" in o || "version" in o)).toBe(false);
    expect(t.closed).toBe(false);
  });

  test("a follower that never reads: the companion and other clients go on; it later reads {\"dropped\":N}", async () => {
    f = new SupFixture(`
[companions.spam]
command = ["sh", "-c", "${until("go")}; seq 1 2000000; while :; do echo tick; sleep 0.05; done"]
startsecs = 0
log_console = false
log_file = "spam.log"
`);
    await f.start();
    await f.waitState("spam", "RUNNING");
    const slow = Bun.spawn(["log-follower", f.socket, "spam"], { cwd: f.dir, env: f.env(), stdio: ["pipe", "pipe", "pipe"] });
    after.push(() => slow.kill("SIGKILL"));
    const slowOut = collect(slow.stdout);
    await waitUntil("the silent follower to send its request", () => slowOut.text, (t) => t.includes("sent"));
    // a reading follower, through the CLI
    const fast = Bun.spawn([SUP, "ctl", "-c", f.config, "logs", "-f", "-n", "0", "spam"], { cwd: f.dir, env: f.env(), stdio: ["ignore", "pipe", "pipe"] });
    after.push(() => fast.kill("SIGKILL"));
    const fastOut = collect(fast.stdout);
    const fastErr = collect(fast.stderr);
    writeFileSync(f.path("go"), "");
    // the companion is not held up: all 2,000,000 lines reach its file
    const want = seqBytes(1, 2000000);
    await waitUntil("spam's burst in its file", () => (existsSync(f.path("spam.log")) ? statSync(f.path("spam.log")).size : 0), (n) => n >= want.length + 5, 60_000);
    expect(sha(readFileSync(f.path("spam.log")).subarray(0, want.length))).toBe(sha(want));
    // other clients are answered
    expect((await f.request({ cmd: "status" })).ok).toBe(true);
    expect((await f.ctl("logs", "-n", "1", "spam")).stdout).toBe("spam | tick\n");
    await waitUntil("the reading follower to see ticks after the burst", () => fastOut.text, (t) => t.includes("spam | tick\n"));
    // the silent one now reads: it was dropped-for, and told so
    slow.stdin.write("go\n");
    slow.stdin.flush();
    await waitUntil("the silent follower's summary", () => slowOut.text, (t) => t.includes("{"), 40_000);
    const summary = JSON.parse(slowOut.text.slice(slowOut.text.indexOf("{")));
    expect(summary.first).toEqual({ ok: true, streaming: true });
    expect(summary.dropped.length).toBeGreaterThanOrEqual(1);
    expect(summary.dropped[0]).toBeGreaterThan(100_000);
    expect(summary.lines).toBeLessThan(2_000_000);
    void fastErr;
  });
});

describe("console", () => {
  test("sup's stdout a pipe nobody reads: companions keep running and restarting, the manager's memory stays bounded, the dropped-lines note comes once it is read", async () => {
    f = new SupFixture(`
[companions.burst]
# 20 MB of 100-byte lines a run
command = ["sh", "-c", "yes '${"x".repeat(99)}' | head -c 20000000; exit 1"]
startsecs = 0
restart_delay = 0.05
backoff = "fixed"

[companions.steady]
command = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo \\"steady $i\\"; sleep 0.01; done"]
startsecs = 0
`);
    const fifo = f.path("stdout.fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    // our read end, opened first (non-blocking) and not read until later
    const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    after.push(() => closeSync(rd));
    await f.start({ argv: ["sh", "-c", 'exec "$0" run -c "$1" > "$2"', SUP, f.config, fifo] });
    const steady = (await f.waitState("steady", "RUNNING")).pid!;
    const manager = f.managerPid()!;
    expect(manager).toBeGreaterThan(0);
    let peak = vmRssKb(manager);
    const b0 = (await f.entry("burst")).restart_count;
    await waitUntil(
      "burst to restart many times with stdout unread",
      async () => {
        peak = Math.max(peak, vmRssKb(manager));
        return await f.entry("burst");
      },
      (e) => e.restart_count >= b0 + 10,
      60_000,
    );
    const st = await f.entry("steady");
    expect(st).toMatchObject({ state: "RUNNING", pid: steady, restart_count: 0 });
    // 200+ MB of lines against a 1 MiB backlog (about 56 MB at rest): generous, yet far below what keeping them would take
    expect(peak).toBeLessThan(160 * 1024);
    // now read: what was kept, then the note, then new lines
    let text = "";
    const buf = Buffer.alloc(1 << 16);
    await waitUntil(
      "the dropped-lines note on sup's stdout",
      () => {
        for (;;) {
          let n = 0;
          try {
            n = readSync(rd, buf, 0, buf.length, null);
          } catch {
            break; // EAGAIN: nothing more now
          }
          if (n <= 0) break;
          text += buf.toString("latin1", 0, n);
        }
        return text;
      },
      (t) => /\[sup\] \d+ lines dropped: sup's stdout was not being read\n[^]*steady \| steady \d+\n/.test(t),
    );
    const n = Number(/\[sup\] (\d+) lines dropped/.exec(text)![1]);
    expect(n).toBeGreaterThan(1000);
    expect(text).toMatch(/^(burst |steady) \| /m);
    expect((await f.entry("steady")).pid).toBe(steady);
    // the reader goes away for good: no SIGPIPE for sup or its companions
    after.pop();
    closeSync(rd);
    const b1 = (await f.entry("burst")).restart_count;
    await waitUntil("burst to keep restarting with stdout closed", () => f.entry("burst"), (e) => e.restart_count >= b1 + 3);
    expect(f.exitCode).toBeNull();
    expect(await f.entry("steady")).toMatchObject({ state: "RUNNING", pid: steady });
  });

  test("prefixes padded to the longest name; no colour when piped (even without NO_COLOR)", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
[companions.a]
command = ["sh", "-c", "${until("go")}; echo hello from a; echo oops from a >&2; exec sleep 1000000"]
[companions.longname]
command = ["sh", "-c", "${until("go")}; echo hello from longname; exec sleep 1000000"]
`);
    await f.start({ env: { NO_COLOR: "" } });
    await f.allRunning(["a", "longname"]);
    writeFileSync(f.path("go"), "");
    await f.waitOutput(/longname \| hello from longname\n/);
    await f.waitOutput(/oops from a\n/);
    expect(f.output).toContain("a        | hello from a\n");
    expect(f.output).toContain("a        | oops from a\n");
    expect(f.output).not.toContain("\x1b[");
  });

  test("log_format json: one {ts,name,stream,line} object per line in the file and on the console", async () => {
    f = new SupFixture(`
[companions.js]
command = ["sh", "-c", "echo 'plain \\"quoted\\" line'; echo 'to stderr' >&2; exec sleep 1000000"]
startsecs = 0
log_format = "json"
log_file = "js.log"
`);
    await f.start();
    const text = await f.waitFile("js.log", "to have two lines", (t) => t.split("\n").filter(Boolean).length >= 2);
    const objs = text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const ts = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(objs).toEqual(
      expect.arrayContaining([
        { ts, name: "js", stream: "stdout", line: 'plain "quoted" line' },
        { ts, name: "js", stream: "stderr", line: "to stderr" },
      ]),
    );
    expect(objs.every((o) => Object.keys(o).join() === "ts,name,stream,line")).toBe(true);
    const out = await f.waitOutput(/"line":"to stderr"/);
    const consoleObjs = out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    expect(consoleObjs).toEqual(expect.arrayContaining([{ ts, name: "js", stream: "stdout", line: 'plain "quoted" line' }]));
  });

  test("log_timestamps: RFC 3339 UTC with ms, in the file and on the console", async () => {
    f = new SupFixture(`
[companions.ts]
command = ["sh", "-c", "echo stamped; exec sleep 1000000"]
startsecs = 0
log_timestamps = true
log_file = "ts.log"
`);
    await f.start();
    const before = Date.now();
    const text = await f.waitFile("ts.log", "to have its line", (t) => t.includes("stamped"));
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) stamped\n$/.exec(text);
    expect(m).not.toBeNull();
    expect(Math.abs(Date.parse(m![1]!) - before)).toBeLessThan(60_000);
    await f.waitOutput(/^ts \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z stamped$/m);
  });
});

describe("last_stderr", () => {
  test("after a crash: the last 10 stderr lines in status JSON and `sup ctl status NAME`; stderr = \"stdout\" takes stdout's", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
restart = "never"
log_console = false
[companions.crash]
command = ["sh", "-c", "echo out-line; for i in $(seq 1 12); do echo err$i >&2; done; exit 3"]
[companions.merged]
command = ["sh", "-c", "echo m-out; echo m-err >&2; exit 4"]
stderr = "stdout"
`);
    await f.start();
    // the first status that shows the exit already has them
    const e = await f.waitEntry("crash", "to exit", (x) => x.exit_count >= 1);
    expect(e).toMatchObject({ last_exit_code: 3, last_stderr: Array.from({ length: 10 }, (_, i) => `err${i + 3}`) });
    const m = await f.waitEntry("merged", "to exit", (x) => x.exit_count >= 1);
    expect(m.last_stderr).toEqual(["m-out", "m-err"]);
    const c = await f.ctl("status", "crash");
    expect(c.stdout).toMatch(/last_stderr/);
    for (let i = 3; i <= 12; i++) expect(c.stdout).toMatch(new RegExp(`\\berr${i}\\b`));
    const tail = c.stdout.slice(c.stdout.indexOf("last_stderr"));
    expect(tail).not.toMatch(/\berr2\b/);
    expect(tail).not.toContain("out-line");
    // labelled stdout when stderr = "stdout"
    const r = await f.request({ cmd: "logs", names: ["merged"] });
    expect(r.lines.map((l: any) => l.stream)).toEqual(["stdout", "stdout"]);
  });
});
