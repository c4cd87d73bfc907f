// `sup ctl` as scripts and people use it: start/stop/restart that wait for the outcome, a status
// that explains (LAST-EXIT, REASON, one companion's detail, exit 4), wait, shutdown, the
// `sup VERB` aliases, help per verb, did-you-mean, and the exact requests each verb sends
// (against a recording socket, so the CLI's side is checked apart from the manager's).
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { symlinkSync } from "node:fs";
import { runSup, SUP, SupFixture } from "../helpers/sup.ts";

setDefaultTimeout(60_000);

let f: SupFixture;
let fake: Fake | null = null;
afterEach(async () => {
  fake?.stop();
  fake = null;
  await f?.cleanup();
});

type Json = Record<string, any>;

interface Fake {
  path: string;
  requests: Json[];
  stop(): void;
}

/**
 * A socket that records each request line and answers with `answer(req)`: one object, or a
 * list (a stream: written in order, then the connection is closed), or a promise of either.
 */
function fakeManager(path: string, answer: (req: Json) => Json | Json[] | Promise<Json | Json[]>): Fake {
  const requests: Json[] = [];
  const listener = Bun.listen<{ buf: string; queue: Promise<void> }>({
    unix: path,
    allowHalfOpen: true,
    socket: {
      open(s) {
        s.data = { buf: "", queue: Promise.resolve() };
      },
      data(s, chunk) {
        s.data.buf += chunk.toString();
        let i: number;
        while ((i = s.data.buf.indexOf("\n")) >= 0) {
          const req = JSON.parse(s.data.buf.slice(0, i)) as Json;
          s.data.buf = s.data.buf.slice(i + 1);
          requests.push(req);
          // pipelined requests: answered in order
          const reply = Promise.resolve(answer(req));
          s.data.queue = s.data.queue.then(async () => {
            const r = await reply;
            if (Array.isArray(r)) {
              s.write(r.map((x) => JSON.stringify(x) + "\n").join(""));
              s.end();
            } else s.write(JSON.stringify(r) + "\n");
          });
        }
      },
    },
  });
  return { path, requests, stop: () => listener.stop(true) };
}

const err = (message: string, code: string, extra: Json = {}) => ({ ok: false, message, error: message, code, ...extra });

/** `sup ARGS` in the test folder; stdout and stderr together, in the order written */
async function merged(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(["sh", "-c", `"$@" 2>&1`, "sh", SUP, ...args], { cwd: f.dir, env: f.env(env), stdio: ["ignore", "pipe", "pipe"] });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return { code, out };
}

describe("what each verb sends (recording socket)", () => {
  test("the contract's request of every verb, through `sup ctl VERB` and `sup VERB`", async () => {
    f = new SupFixture();
    fake = fakeManager(f.path("fake.sock"), (req) => ({ ok: true, message: `${req.name ?? req.cmd} done`, companions: [], lines: [], added: [], removed: [] }));
    const cases: [string[], Json[]][] = [
      [["start", "web", "api"], [{ cmd: "start", name: "web", wait: true }, { cmd: "start", name: "api", wait: true }]],
      [["stop", "--timeout", "2.5", "web"], [{ cmd: "stop", name: "web", wait: true, timeout: 2.5 }]],
      [["restart", "--no-wait", "web", "web"], [{ cmd: "restart", name: "web" }]],
      [["signal", "--group", "hup", "web"], [{ cmd: "signal", name: "web", signal: "SIGHUP", group: true }]],
      [["signal", "15", "web"], [{ cmd: "signal", name: "web", signal: "SIGTERM" }]],
      [["wait", "--for", "stopped", "--timeout", "3", "a", "b"], [{ cmd: "wait", names: ["a", "b"], for: "stopped", timeout: 3 }]],
      [["wait", "all"], [{ cmd: "wait", for: "ready" }]],
      [["shutdown"], [{ cmd: "shutdown", fast: false }]],
      [["shutdown", "--fast"], [{ cmd: "shutdown", fast: true }]],
      [["scale", "worker", "4"], [{ cmd: "scale", name: "worker", instances: 4 }]],
      [["logs", "-n", "5", "--stderr", "web"], [{ cmd: "logs", names: ["web"], lines: 5, streams: ["stderr"], follow: false }]],
      [["status", "a", "--json"], [{ cmd: "status", names: ["a"] }]],
      [["info"], [{ cmd: "info" }]],
      [["metrics"], [{ cmd: "metrics" }]],
    ];
    for (const [args, want] of cases) {
      for (const argv of [["ctl", "-s", fake.path, ...args], [...args, "-s", fake.path]]) {
        fake.requests.length = 0;
        const r = await f.sup(argv);
        expect({ argv, code: r.code, stderr: r.stderr, requests: fake.requests }).toEqual({ argv, code: 0, stderr: "", requests: want });
      }
    }
  });

  test("waited outcomes: one line per name in the order given; exit 1 when any failed, was refused or timed out", async () => {
    f = new SupFixture();
    fake = fakeManager(f.path("fake.sock"), (req) => {
      switch (req.name) {
        case "web":
          return { ok: true, message: req.cmd === "stop" ? "web stopped" : req.cmd === "restart" ? "web restarted" : "web started" };
        case "typo":
          return err("typo: command not found: pyhton3", "FAILED", { state: "FATAL" });
        case "slow":
          return err("slow: still STARTING after 6s", "TIMEOUT", { state: "STARTING" });
        default:
          return err(`unknown companion ${req.name}`, "BAD_NAME");
      }
    });
    const all = await merged(["start", "-s", fake.path, "web", "typo", "slow", "nope"]);
    expect(all).toEqual({ code: 1, out: "web: started\ntypo: ERROR (command not found: pyhton3)\nslow: TIMEOUT (still STARTING after 6s)\nnope: ERROR (unknown companion nope)\n" });
    // the failures go to stderr, the successes to stdout
    const split = await f.sup(["ctl", "-s", fake.path, "start", "web", "typo"]);
    expect(split).toEqual({ code: 1, stdout: "web: started\n", stderr: "typo: ERROR (command not found: pyhton3)\n" });
    expect(await f.sup(["ctl", "-s", fake.path, "restart", "web"])).toEqual({ code: 0, stdout: "web: restarted\n", stderr: "" });
    expect(await f.sup(["ctl", "-s", fake.path, "stop", "web"])).toEqual({ code: 0, stdout: "web: stopped\n", stderr: "" });
  });

  test("a waited reply may take longer than SUP_CTL_TIMEOUT_MS; --timeout S bounds it at S plus that margin", async () => {
    f = new SupFixture();
    let delay = 1500;
    fake = fakeManager(f.path("fake.sock"), async (req) => {
      await Bun.sleep(delay);
      return { ok: true, message: `${req.name} ${req.wait ? "started" : "starting"}` };
    });
    const env = { SUP_CTL_TIMEOUT_MS: "300" };
    // the manager bounds a wait without --timeout: the client waits for it
    expect(await f.sup(["start", "-s", fake.path, "web"], { env })).toEqual({ code: 0, stdout: "web: started\n", stderr: "" });
    // --timeout 1: 1 s + 300 ms is enough for a reply after 1.1 s
    delay = 1100;
    expect(await f.sup(["start", "-s", fake.path, "--timeout", "1", "web"], { env })).toEqual({ code: 0, stdout: "web: started\n", stderr: "" });
    // ... but not for one after 5 s: unreachable (3), well before the reply
    delay = 5000;
    const t0 = performance.now();
    const late = await f.sup(["start", "-s", fake.path, "--timeout", "0.5", "web"], { env });
    expect(late.code).toBe(3);
    expect(late.stderr).toContain(fake.path);
    expect(performance.now() - t0).toBeLessThan(4000);
    // without waiting, the usual deadline
    const quick = await f.sup(["start", "-s", fake.path, "--no-wait", "web"], { env });
    expect(quick.code).toBe(3);
  });

  test("verbs an older manager does not know: its refusal is printed, exit 1", async () => {
    f = new SupFixture();
    fake = fakeManager(f.path("fake.sock"), (req) => err(`unknown command '${req.cmd}'`, "BAD_REQUEST"));
    for (const args of [["logs"], ["logs", "-f", "web"], ["events"], ["scale", "web", "2"], ["shutdown"], ["wait", "all"], ["metrics"]]) {
      const r = await f.sup([...args, "-s", fake.path]);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 1, stdout: "" });
      expect(r.stderr).toContain(`unknown command '${args[0]}'`);
    }
  });

  test("wait: exit 4 naming each companion not there yet with its state and why", async () => {
    f = new SupFixture();
    const entry = (name: string, state: string, description: string, extra: Json = {}) => ({ name, state, description, pid: null, manual_stop: false, last_exit_code: null, last_exit_signal: null, exited_at: null, ...extra });
    let timedOut = true;
    fake = fakeManager(f.path("fake.sock"), () =>
      timedOut
        ? err("not ready after 3s: crash, db", "TIMEOUT", {
            companions: [entry("web", "RUNNING", "running, pid 12, uptime 0:00:03", { pid: 12 }), entry("crash", "BACKOFF", "backoff, exited with status 1, retrying in 3s", { last_exit_code: 1 }), entry("db", "WAITING", "waiting, for disk (ready)")],
          })
        : { ok: true, message: "3 companion(s) ready" },
    );
    const r = await f.sup(["wait", "-s", fake.path, "--timeout", "3", "web", "crash", "db"]);
    expect(r).toEqual({ code: 4, stdout: "", stderr: "crash: not ready (BACKOFF, retrying in 3s)\ndb: not ready (WAITING, for disk (ready))\n" });
    timedOut = false;
    expect(await f.sup(["wait", "-s", fake.path, "web", "crash", "db"])).toEqual({ code: 0, stdout: "web, crash, db: ready\n", stderr: "" });
    expect(await f.sup(["wait", "-s", fake.path, "--for", "stopped", "all"])).toEqual({ code: 0, stdout: "all: stopped\n", stderr: "" });
  });

  test("events and logs -f print the stream until the manager closes it", async () => {
    f = new SupFixture();
    fake = fakeManager(f.path("fake.sock"), (req) =>
      req.cmd === "events"
        ? [{ ok: true, streaming: true }, { ts: "2026-12-01T10:00:00Z", name: "web", from: "STARTING", to: "RUNNING", reason: "up 1s, pid 12", pid: 12 }, { ts: "2026-12-01T10:00:05Z", event: "reload" }]
        : [{ ok: true, streaming: true }, { ts: "2026-12-01T10:00:00Z", name: "web", stream: "stdout", line: "hello" }, { dropped: 3 }, { ts: "2026-12-01T10:00:01Z", name: "web", stream: "stderr", line: "oops" }],
    );
    expect(await f.sup(["events", "-s", fake.path])).toEqual({ code: 0, stdout: "2026-12-01T10:00:00Z web STARTING -> RUNNING (up 1s, pid 12) pid 12\n2026-12-01T10:00:05Z sup reload\n", stderr: "" });
    const json = await f.sup(["ctl", "-s", fake.path, "events", "--json"]);
    expect(json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).to ?? JSON.parse(l).event)).toEqual(["RUNNING", "reload"]);
    expect(await f.sup(["logs", "-f", "-s", fake.path, "web"])).toEqual({ code: 0, stdout: "web | hello\nweb (stderr) | oops\n", stderr: "sup: 3 line(s) dropped (this reader was too slow)\n" });
  });
});

describe("start / stop / restart wait for the outcome (real manager)", () => {
  const CONF = `
[defaults]
startsecs = 1
stop_timeout = 10
[companions.web]
command = "forever"
[companions.typo]
command = "pyhton3-sup-test"
[companions.slow]
command = "forever"
startsecs = 30
[companions.drain]
command = "slow-stop 1"
stdout = "drain.log"
[companions.a]
command = "forever"
startsecs = 2
[companions.b]
command = "forever"
startsecs = 2
[companions.c]
command = "forever"
startsecs = 2
`;

  /** stop `names` with raw (unwaited) requests and wait until they are STOPPED */
  async function down(...names: string[]) {
    for (const name of names) expect((await f.request({ cmd: "stop", name })).ok).toBe(true);
    for (const name of names) await f.waitState(name, "STOPPED");
  }

  test("start returns once RUNNING, FATAL is an ERROR with the reason, --timeout is a TIMEOUT with the state", async () => {
    f = new SupFixture(CONF);
    await f.start();
    await f.waitState("web", "RUNNING");
    await f.waitState("a", "RUNNING");
    await down("web", "a");
    const start = await f.ctl("start", "web");
    expect(start).toEqual({ code: 0, stdout: "web: started\n", stderr: "" });
    const web = await f.entry("web");
    expect(web.state).toBe("RUNNING"); // when the command returned, not later
    const typo = await f.ctl("start", "typo");
    expect(typo).toEqual({ code: 1, stdout: "", stderr: "typo: ERROR (command not found: pyhton3-sup-test)\n" });
    const t0 = performance.now();
    const slow = await f.ctl("start", "--timeout", "1", "slow");
    expect(slow).toEqual({ code: 1, stdout: "", stderr: "slow: TIMEOUT (still STARTING after 1s)\n" });
    expect(performance.now() - t0).toBeLessThan(10_000);
    const restart = await f.ctl("restart", "web");
    expect(restart).toEqual({ code: 0, stdout: "web: restarted\n", stderr: "" });
    const again = await f.entry("web");
    expect(again.state).toBe("RUNNING");
    expect(again.pid).not.toBe(web.pid);
    // no fixed client deadline: a 2 s start with SUP_CTL_TIMEOUT_MS=500
    const late = await f.sup(["start", "a", "-c", f.config], { env: { SUP_CTL_TIMEOUT_MS: "500" } });
    expect(late).toEqual({ code: 0, stdout: "a: started\n", stderr: "" });
  });

  test("stop returns once the companion is down; names are handled in parallel, printed in the order given", async () => {
    f = new SupFixture(CONF);
    await f.start();
    const drain = await f.waitState("drain", "RUNNING");
    await f.waitReady("drain", { pid: drain.pid! });
    const t0 = performance.now();
    const stop = await f.ctl("stop", "drain");
    expect(stop).toEqual({ code: 0, stdout: "drain: stopped\n", stderr: "" });
    expect(performance.now() - t0).toBeGreaterThan(900); // slow-stop takes 1 s after TERM
    const after = await f.entry("drain");
    expect({ state: after.state, pid: after.pid }).toEqual({ state: "STOPPED", pid: null });
    // three 2 s starts at once: about 2 s, not 6
    for (const n of ["a", "b", "c"]) await f.waitState(n, "RUNNING");
    await down("a", "b", "c");
    const t1 = performance.now();
    const three = await f.ctl("start", "c", "a", "b");
    const took = performance.now() - t1;
    expect(three).toEqual({ code: 0, stdout: "c: started\na: started\nb: started\n", stderr: "" });
    expect(took).toBeGreaterThan(1900);
    expect(took).toBeLessThan(5000);
  });
});

describe("status explains (real manager)", () => {
  const CONF = `
[defaults]
startsecs = 0
stop_timeout = 5
[companions.web]
command = "forever"
[companions.done]
command = "exit-with 0"
restart = "never"
[companions.crash]
command = "exit-with 3"
backoff = "fixed"
restart_delay = 600
[companions.killed]
command = "kill-self KILL"
restart = "never"
[companions.manual]
command = "forever"
[companions.broken]
command = "sup-test-no-such-command"
`;

  async function ready(fx: SupFixture) {
    await fx.start();
    await fx.waitState("web", "RUNNING");
    await fx.waitState("done", "EXITED");
    await fx.waitState("crash", "BACKOFF");
    await fx.waitState("killed", "EXITED");
    await fx.waitState("broken", "FATAL");
    await fx.waitState("manual", "RUNNING");
    expect((await fx.ctl("stop", "--no-wait", "manual")).code).toBe(0);
    await fx.waitState("manual", "STOPPED");
  }

  test("LAST-EXIT (code or signal, how long ago) and a REASON only where it adds something; exit 4 unless all are as wanted", async () => {
    f = new SupFixture(CONF);
    await ready(f);
    const r = await f.ctl("status");
    expect(r.code).toBe(4);
    const rows = r.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^NAME +STATE +PID +UPTIME +RESTARTS +LAST-EXIT +CPU +RSS +REASON$/);
    const at = (h: string) => rows[0]!.indexOf(h);
    const cell = (row: string, h: string, next?: string) => row.slice(at(h), next ? at(next) : undefined).trim();
    const byName = Object.fromEntries(rows.slice(1).map((row) => [row.split(" ")[0], { state: cell(row, "STATE", "PID"), exit: cell(row, "LAST-EXIT", "CPU"), reason: cell(row, "REASON") }]));
    expect(byName.web).toEqual({ state: "RUNNING", exit: "-", reason: "" });
    expect(byName.done!.exit).toMatch(/^0 \(\d+s ago\)$/);
    expect(byName.done!.reason).toBe("");
    expect(byName.crash!.state).toBe("BACKOFF");
    expect(byName.crash!.exit).toMatch(/^3 \(\d+s ago\)$/);
    expect(byName.crash!.reason).toMatch(/^retrying in \d+s$/);
    expect(byName.killed!.exit).toMatch(/^SIGKILL \(\d+s ago\)$/);
    expect(byName.manual!.reason).toBe("stopped manually");
    expect(byName.manual!.exit).toMatch(/^SIGTERM \(\d+s ago\)$/);
    expect(byName.broken).toEqual({ state: "FATAL", exit: "-", reason: "command not found: sup-test-no-such-command" });
    // as wanted: running, exited 0 under restart = never, stopped by the operator
    expect((await f.ctl("status", "web", "done", "manual")).code).toBe(0);
    for (const name of ["crash", "killed", "broken"]) expect({ name, code: (await f.ctl("status", name)).code }).toEqual({ name, code: 4 });
    // --json: the same exit code
    const json = await f.ctl("status", "--json", "web", "crash");
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout).companions.map((c: Json) => c.state)).toEqual(["RUNNING", "BACKOFF"]);
    expect((await f.ctl("status", "--json", "web", "manual")).code).toBe(0);
  });

  test("status NAME prints every key of its entry, human-formatted, and its last stderr lines", async () => {
    f = new SupFixture(CONF);
    await ready(f);
    const entry = await f.entry("web");
    const r = await f.ctl("status", "web");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    const value = (key: string) => lines.find((l) => l.startsWith(key + " ") || l.startsWith(key + ":"))?.slice(key.length).trim();
    for (const key of Object.keys(entry)) expect({ key, shown: value(key) !== undefined }).toEqual({ key, shown: true });
    expect(value("state")).toBe("RUNNING");
    expect(value("pid")).toBe(String(entry.pid));
    expect(value("started_at")).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+s ago\)$/);
    expect(value("exited_at")).toBe("-");
    expect(value("manual_stop")).toBe("no");
    expect(value("uptime")).toMatch(/^\d+:\d\d:\d\d$/);
    expect(value("last_stderr")).toBeDefined();
    const crash = await f.ctl("status", "crash");
    expect(crash.code).toBe(4);
    expect(crash.stdout).toMatch(/^last_exit_code +3$/m);
    expect(crash.stdout).toMatch(/^next_retry_at +\d{4}-.* \(in \d+m\)$/m);
  });

  test("wait: 0 when there, 4 naming those that are not, with their state", async () => {
    f = new SupFixture(CONF);
    await ready(f);
    expect(await f.ctl("wait", "--timeout", "5", "web", "done")).toEqual({ code: 0, stdout: "web, done: ready\n", stderr: "" });
    const late = await f.ctl("wait", "--timeout", "0.5", "web", "crash");
    expect(late.code).toBe(4);
    expect(late.stderr).toMatch(/^crash: not ready \(BACKOFF, retrying in \d+s\)\n$/);
    expect((await f.ctl("wait", "--for", "stopped", "--timeout", "5", "manual", "broken", "killed")).code).toBe(0);
    const nope = await f.ctl("wait", "nope");
    expect(nope.code).toBe(1);
    expect(nope.stderr).toContain("unknown companion nope");
  });
});

test("shutdown stops sup (exit 0) and everything it ran", async () => {
  f = new SupFixture(`[defaults]\nstartsecs = 0\n[companions.web]\ncommand = "forever"\n`);
  await f.start();
  await f.waitState("web", "RUNNING");
  const r = await f.sup(["shutdown", "-c", f.config]);
  expect(r).toEqual({ code: 0, stdout: "sup stopping\n", stderr: "" });
  expect(await f.waitExit()).toBe(0);
  await f.waitNoProcs();
});

describe("aliases, help and did-you-mean", () => {
  const CTL_VERBS = ["status", "start", "stop", "restart", "reread", "signal", "logs", "events", "wait", "scale", "info", "shutdown"];

  test("sup VERB is sup ctl VERB", async () => {
    f = new SupFixture(`[defaults]\nstartsecs = 0\n[companions.web]\ncommand = "forever"\n`);
    await f.start();
    await f.waitState("web", "RUNNING");
    const ctl = await f.sup(["ctl", "status", "--json"]);
    const alias = await f.sup(["status", "--json"]);
    expect(alias.code).toBe(0);
    expect(JSON.parse(alias.stdout).companions.map((c: Json) => c.name)).toEqual(JSON.parse(ctl.stdout).companions.map((c: Json) => c.name));
    expect(await f.sup(["stop", "web"])).toEqual({ code: 0, stdout: "web: stopped\n", stderr: "" });
    expect(await f.sup(["start", "--no-wait", "web"])).toEqual({ code: 0, stdout: "web started\n", stderr: "" });
  });

  test("every verb has its own --help: usage, flags, exit codes, environment, an example; sup --help lists them all", async () => {
    f = new SupFixture();
    for (const verb of CTL_VERBS) {
      for (const prog of [["ctl"], []]) {
        const r = await f.sup([...prog, verb, "--help"]);
        const name = ["sup", ...prog, verb].join(" ");
        expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: "" });
        expect(r.stdout.split("\n")[0]).toStartWith(`usage: ${["sup", ...prog].join(" ")} [-c FILE | -s SOCKET] ${verb}`);
        for (const part of ["flags:", "--help", "exit codes:", "environment:", "SUP_CONFIG", "SUP_CTL_TIMEOUT_MS", "NO_COLOR", `example:\n  ${name}`]) expect({ name, has: part, ok: r.stdout.includes(part) }).toEqual({ name, has: part, ok: true });
      }
    }
    expect((await f.sup(["ctl", "start", "--help"])).stdout).toContain("--no-wait");
    expect((await f.sup(["ctl", "shutdown", "--help"])).stdout).toContain("--fast");
    expect((await f.sup(["signal", "--help"])).stdout).toContain("--group");
    expect((await f.sup(["wait", "--help"])).stdout).toContain("--for ready|stopped");
    for (const verb of ["run", "check", "completion", "version"]) {
      const r = await f.sup([verb, "--help"]);
      expect({ verb, code: r.code }).toEqual({ verb, code: 0 });
      expect(r.stdout).toStartWith(`usage: sup ${verb}`);
      expect(r.stdout).toContain("exit codes:");
    }
    const top = await runSup(["--help"]);
    expect(top.code).toBe(0);
    for (const verb of [...CTL_VERBS, "run", "check", "ctl", "completion", "version"]) expect({ verb, listed: new RegExp(`^  ${verb}\\b`, "m").test(top.stdout) }).toEqual({ verb, listed: true });
    expect((await f.sup(["ctl", "--help"])).stdout).toContain("verbs:");
  });

  test("a misspelt verb or flag: usage error (2) with a did-you-mean, before any socket is tried", async () => {
    f = new SupFixture();
    const cases: [string[], string][] = [
      [["ctl", "stauts"], "unknown command 'stauts' (did you mean status?)"],
      [["stauts"], "unknown command 'stauts' (did you mean status?)"],
      [["ctl", "restrat", "web"], "unknown command 'restrat' (did you mean restart?)"],
      [["chekc"], "unknown command 'chekc' (did you mean check?)"],
      [["ctl", "status", "--jsno"], "unknown flag --jsno (did you mean --json?)"],
      [["start", "--no-wiat", "web"], "unknown flag --no-wiat (did you mean --no-wait?)"],
      [["ctl", "shutdown", "--fats"], "unknown flag --fats (did you mean --fast?)"],
      [["status", "-json"], "unknown flag -json (did you mean --json?)"],
      [["wait", "--for", "redy", "web"], "--for must be ready or stopped, not 'redy' (did you mean ready?)"],
      [["ctl", "xyzzy"], "unknown command 'xyzzy'\n"],
    ];
    for (const [args, msg] of cases) {
      const r = await f.sup(args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
      expect(r.stderr).toContain(`sup: ${msg}`);
      expect(r.stderr).not.toContain("cannot reach");
    }
  });
});

describe("completion", () => {
  const CONF = `[defaults]\nstartsecs = 0\n[companions.web]\ncommand = "forever"\n[companions.worker]\ncommand = "forever"\n[companions.api]\ncommand = "forever"\n`;

  /** run `line` in bash after sourcing the bash script; `sup` on PATH is the binary under test */
  async function bash(line: string): Promise<string> {
    const bin = f.mkdir("bin");
    try {
      symlinkSync(SUP, `${bin}/sup`);
    } catch {}
    const script = await f.sup(["completion", "bash"]);
    expect(script.code).toBe(0);
    f.write(script.stdout, "sup.bash");
    const p = Bun.spawn(["bash", "--norc", "--noprofile", "-c", `source ./sup.bash\n${line}`], { cwd: f.dir, env: f.env({ PATH: `${bin}:${f.env().PATH}` }), stdio: ["ignore", "pipe", "pipe"] });
    const [out, errText, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect({ code, err: errText }).toEqual({ code: 0, err: "" });
    return out;
  }
  const complete = (words: string[]) => `COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _sup; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const list = (out: string) => out.split("\n").filter(Boolean).sort();

  test("bash: `complete -p sup`; verbs, flags, signals; a running companion's name for `sup start w<TAB>`", async () => {
    f = new SupFixture(CONF);
    await f.start();
    await f.waitState("web", "RUNNING");
    expect(await bash("complete -p sup")).toBe("complete -F _sup sup\n");
    // names from the running sup, through -s or the config
    expect(list(await bash(complete(["sup", "start", "-s", f.socket, "w"])))).toEqual(["web", "worker"]);
    expect(list(await bash(complete(["sup", "start", "w"])))).toEqual(["web", "worker"]);
    expect(list(await bash(complete(["sup", "ctl", "-c", f.config, "restart", "--timeout", "3", ""])))).toEqual(["all", "api", "web", "worker"]);
    expect(list(await bash(complete(["sup", "sta"])))).toEqual(["start", "status"]);
    expect(list(await bash(complete(["sup", "ctl", "s"])))).toEqual(["scale", "shutdown", "signal", "start", "status", "stop"]);
    expect(list(await bash(complete(["sup", "start", "--n"])))).toEqual(["--no-wait"]);
    expect(list(await bash(complete(["sup", "wait", "--for", ""])))).toEqual(["ready", "stopped"]);
    expect(list(await bash(complete(["sup", "signal", "H"])))).toEqual(["HUP"]);
    expect(list(await bash(complete(["sup", "signal", "HUP", "a"])))).toEqual(["all", "api"]);
    expect(list(await bash(complete(["sup", "completion", ""])))).toEqual(["bash", "fish", "zsh"]);
    // sup is gone: names from the config file
    f.signal("SIGTERM");
    expect(await f.waitExit()).toBe(0);
    const t0 = performance.now();
    expect(list(await bash(complete(["sup", "stop", ""])))).toEqual(["all", "api", "web", "worker"]);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  test("zsh and fish scripts; an unknown shell is a usage error", async () => {
    f = new SupFixture(CONF);
    const zsh = await f.sup(["completion", "zsh"]);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toContain("compdef _sup sup");
    expect(zsh.stdout).toContain("__complete names");
    const fish = await f.sup(["completion", "fish"]);
    expect(fish.code).toBe(0);
    expect(fish.stdout).toContain("complete -c sup");
    expect(fish.stdout).toContain("__complete names");
    for (const [shell, text] of [["zsh", zsh.stdout], ["fish", fish.stdout]] as const) {
      if (!Bun.which(shell)) continue; // syntax-checked where the shell is installed
      f.write(text, `sup.${shell}`);
      const r = Bun.spawnSync([shell, "-n", f.path(`sup.${shell}`)]);
      expect({ shell, code: r.exitCode, err: r.stderr.toString() }).toEqual({ shell, code: 0, err: "" });
    }
    expect((await f.sup(["completion", "tcsh"])).code).toBe(2);
    expect((await f.sup(["completion"])).code).toBe(2);
    // the hidden helper: names from the config when nothing runs, quietly, exit 0
    expect(await f.sup(["__complete", "names"])).toEqual({ code: 0, stdout: "web\nworker\napi\n", stderr: "" });
  });
});
