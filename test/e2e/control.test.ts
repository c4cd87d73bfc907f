// Control protocol 2 over the real socket (contract §2, §5): start/stop/restart with `wait`
// (every outcome), pipelining while a reply waits, a client that hangs up while it waits, the
// `wait` command, `shutdown` [fast], the read-only status_socket, socket_group, and a second
// SIGINT/SIGTERM turning a graceful stop into a fast one.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { alive } from "../helpers/census.ts";
import { connect, type Talk } from "../helpers/socket.ts";
import { errReply, okReply, SupFixture } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";

// real processes on a slow shared machine: bun resets the default (5 s) for every file
setDefaultTimeout(90_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

type Json = Record<string, any>;

/** the parsed reply lines received so far on a raw connection */
function lines(t: Talk): Json[] {
  return t.text
    .split("\n")
    .slice(0, -1)
    .map((l) => JSON.parse(l));
}

/** wait until `t` has at least `n` reply lines; returns them */
function replies(t: Talk, n: number, what: string, timeoutMs = 30_000): Promise<Json[]> {
  return waitFor(`${n} repl${n === 1 ? "y" : "ies"} to ${what}`, () => lines(t), (l) => l.length >= n, timeoutMs, 10);
}

interface Pending {
  talk: Talk;
  /** performance.now() when the request was written */
  sentAt: number;
  /** the reply, and how long after sending it came (ms) */
  reply(timeoutMs?: number): Promise<{ reply: Json; ms: number }>;
  /** true once a reply line arrived */
  answered(): boolean;
}

/** send `req` on a connection of its own (to `socket`, default the control socket) and keep it open */
async function send(socket: string, req: Json): Promise<Pending> {
  const talk = await connect(socket);
  const sentAt = performance.now();
  talk.write(JSON.stringify(req) + "\n");
  let arrivedAt: number | null = null;
  return {
    talk,
    sentAt,
    answered: () => talk.text.includes("\n"),
    async reply(timeoutMs = 30_000) {
      await waitFor(
        `a reply to ${JSON.stringify(req)}`,
        () => {
          if (arrivedAt === null && talk.text.includes("\n")) arrivedAt = performance.now();
          return arrivedAt;
        },
        (a) => a !== null,
        timeoutMs,
        10,
      );
      talk.close();
      return { reply: lines(talk)[0]!, ms: arrivedAt! - sentAt };
    },
  };
}

/** one request on its own connection; its reply and how long it took (ms) */
async function ask(socket: string, req: Json, timeoutMs = 30_000): Promise<{ reply: Json; ms: number }> {
  return (await send(socket, req)).reply(timeoutMs);
}

/** the exact FAILED / TIMEOUT reply of a waited command */
function waitErr(message: string, code: "FAILED" | "TIMEOUT", state: string): Json {
  return { ...errReply(message, code), state };
}

async function info(): Promise<Json> {
  const r = await f.request({ cmd: "info" });
  expect(r.ok).toBe(true);
  return r;
}

function waitingReplies(n: number, timeoutMs = 10_000): Promise<Json> {
  return waitFor(`info.waiting_replies to be ${n}`, () => f.request({ cmd: "info" }), (r) => r.waiting_replies === n, timeoutMs);
}

/** no live process in the group of `pgid` (a companion's tree) */
function treeGone(pgid: number): boolean {
  return f.census().filter((p) => p.pgid === pgid).length === 0;
}

const ENTRY_KEYS = [
  "name", "state", "pid", "description", "started_at", "exited_at", "next_retry_at", "restart_delay", "last_exit_code",
  "last_exit_signal", "restart_count", "exit_count", "manual_stop", "command", "uptime", "processes", "cpu_percent",
  "rss_bytes", "ready", "health", "waiting_for", "last_stderr", "instance",
];

/**
 * autostart is not in this build: companions meant to begin STOPPED are stopped (with wait)
 * right after sup starts; afterwards each is STOPPED with no process
 */
async function stopFirst(...names: string[]): Promise<void> {
  for (const name of names) {
    const r = await ask(f.socket, { cmd: "stop", name, wait: true });
    expect(r.reply).toEqual(okReply(`${name} stopped`));
  }
}

/** stop sup for good and check nothing is left (a fast stop: no long drains in cleanup) */
async function endSup(sig: NodeJS.Signals = "SIGTERM"): Promise<void> {
  f.signal(sig);
  expect(await f.waitExit(30_000)).toBe(0);
  await f.waitNoProcs();
}

describe("start / stop / restart with wait", () => {
  test("start: RUNNING after startsecs is ok; a RUNNING one is 'already running'; two waiters of one start both get it", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 1
stop_timeout = 5
[companions.a]
command = "forever"
[companions.b]
command = "forever"
`);
    await f.start();
    await stopFirst("a", "b");
    expect((await f.entry("a")).state).toBe("STOPPED");
    const { reply, ms } = await ask(f.socket, { cmd: "start", name: "a", wait: true, id: 7 });
    expect(reply).toEqual({ ...okReply("a started"), id: 7 });
    expect(ms).toBeGreaterThanOrEqual(900); // not before startsecs
    const a = await f.entry("a");
    expect(a.state).toBe("RUNNING");
    expect(alive(a.pid!)).toBe(true);

    // already running: at once, same process
    const again = await ask(f.socket, { cmd: "start", name: "a", wait: true });
    expect(again.reply).toEqual(okReply("a already running"));
    expect(again.ms).toBeLessThan(900);
    expect((await f.entry("a")).pid).toBe(a.pid);

    // a second waited start of a STARTING companion waits for the same run
    const first = await send(f.socket, { cmd: "start", name: "b", wait: true });
    await f.waitState("b", "STARTING");
    const second = await send(f.socket, { cmd: "start", name: "b", wait: true });
    const [r1, r2] = await Promise.all([first.reply(), second.reply()]);
    expect(r1.reply).toEqual(okReply("b started"));
    expect(r2.reply).toEqual(okReply("b started"));
    const b = await f.entry("b");
    expect(b.state).toBe("RUNNING");
    expect(f.census().filter((p) => p.cmd === "sleep 1000000")).toHaveLength(2); // one process each
    expect((await info()).waiting_replies).toBe(0);
    await endSup();
  });

  test("start of a command that cannot be spawned: FAILED with the reason, state FATAL", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 1
[companions.typo]
command = ["sup-test-no-such-command", "x"]
`);
    await f.start();
    await stopFirst("typo");
    const { reply } = await ask(f.socket, { cmd: "start", name: "typo", wait: true });
    expect(reply).toEqual(waitErr("typo: command not found: sup-test-no-such-command", "FAILED", "FATAL"));
    expect((await f.entry("typo")).state).toBe("FATAL");
    // restart with wait: the same outcome
    const r = await ask(f.socket, { cmd: "restart", name: "typo", wait: true });
    expect(r.reply).toEqual(waitErr("typo: command not found: sup-test-no-such-command", "FAILED", "FATAL"));
    expect((await info()).waiting_replies).toBe(0);
    await endSup();
  });

  test("an exit before startsecs: FAILED 'exited with status 3 before it was up', state BACKOFF (always) or EXITED (never)", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 3
restart_delay = 60
stop_timeout = 5
[companions.crash]
command = "exit-with 3 0.3"
[companions.once]
command = "exit-with 3 0.3"
restart = "never"
`);
    await f.start();
    await stopFirst("crash", "once");
    const [crash, once] = await Promise.all([ask(f.socket, { cmd: "start", name: "crash", wait: true }), ask(f.socket, { cmd: "start", name: "once", wait: true })]);
    expect(crash.reply).toEqual(waitErr("crash: exited with status 3 before it was up", "FAILED", "BACKOFF"));
    expect(once.reply).toEqual(waitErr("once: exited with status 3 before it was up", "FAILED", "EXITED"));
    // the outcome comes with the exit, not at startsecs or at the timeout
    expect(crash.ms).toBeLessThan(2900);
    expect(once.ms).toBeLessThan(2900);
    expect((await f.entry("crash")).state).toBe("BACKOFF");
    expect((await f.entry("once")).state).toBe("EXITED");
    // restart with wait of the one in BACKOFF: the new run fails the same way
    const r = await ask(f.socket, { cmd: "restart", name: "crash", wait: true });
    expect(r.reply).toEqual(waitErr("crash: exited with status 3 before it was up", "FAILED", "BACKOFF"));
    await endSup();
  });

  test("stop: ok once the whole tree is gone (also after SIGKILL at stop_timeout); a stopped one answers at once", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 1
[companions.t]
command = "tree"
stdout = "t.log"
[companions.stubborn]
command = "ignore-term"
stdout = "stubborn.log"
`);
    await f.start();
    const t = await f.waitState("t", "RUNNING");
    await f.waitReady("t");
    await f.waitEntry("t", "to have its grandchildren", () => f.census().filter((p) => p.pgid === t.pid).length === 3);
    const r = await ask(f.socket, { cmd: "stop", name: "t", wait: true });
    expect(r.reply).toEqual(okReply("t stopped"));
    // at the reply, nothing of the tree is left (no waiting here)
    expect(f.census().filter((p) => p.pgid === t.pid)).toEqual([]);
    expect((await f.entry("t")).state).toBe("STOPPED");

    const s = await f.waitState("stubborn", "RUNNING");
    await f.waitReady("stubborn");
    const k = await ask(f.socket, { cmd: "stop", name: "stubborn", wait: true });
    expect(k.reply).toEqual(okReply("stubborn stopped"));
    expect(k.ms).toBeGreaterThanOrEqual(900); // it ignored TERM: SIGKILL at stop_timeout
    expect(treeGone(s.pid!)).toBe(true);
    expect(alive(s.pid!)).toBe(false);
    expect((await f.entry("stubborn")).state).toBe("STOPPED");

    // already stopped: ok at once
    const again = await ask(f.socket, { cmd: "stop", name: "t", wait: true });
    expect(again.reply).toEqual(okReply("t stopped"));
    expect((await info()).waiting_replies).toBe(0);
    await endSup();
  });

  test("timeout: TIMEOUT with the current state (start still STARTING, stop still STOPPING); the companion carries on", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 30
stop_timeout = 3
[companions.slow]
command = "forever"
[companions.stubborn]
command = "ignore-term"
stdout = "stubborn.log"
startsecs = 0
`);
    await f.start();
    await stopFirst("slow");
    const { reply, ms } = await ask(f.socket, { cmd: "start", name: "slow", wait: true, timeout: 0.5 });
    expect(reply).toEqual(waitErr("slow: still STARTING after 0.5s", "TIMEOUT", "STARTING"));
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(10_000);
    // the start goes on: still STARTING, the same process, nothing waiting any more
    const slow = await f.entry("slow");
    expect(slow.state).toBe("STARTING");
    expect(alive(slow.pid!)).toBe(true);
    expect((await info()).waiting_replies).toBe(0);

    // restart with a timeout: the same
    const rr = await ask(f.socket, { cmd: "restart", name: "slow", wait: true, timeout: 0.3 });
    expect(rr.reply).toEqual(waitErr("slow: still STARTING after 0.3s", "TIMEOUT", "STARTING"));

    const s = await f.waitState("stubborn", "RUNNING");
    await f.waitReady("stubborn");
    const st = await ask(f.socket, { cmd: "stop", name: "stubborn", wait: true, timeout: 0.5 });
    expect(st.reply).toEqual(waitErr("stubborn: still STOPPING after 0.5s", "TIMEOUT", "STOPPING"));
    expect(alive(s.pid!)).toBe(true);
    // a stop with wait of the STOPPING one (default timeout): ok once SIGKILL at stop_timeout took it
    const st2 = await ask(f.socket, { cmd: "stop", name: "stubborn", wait: true });
    expect(st2.reply).toEqual(okReply("stubborn stopped"));
    expect(alive(s.pid!)).toBe(false);
    expect((await info()).waiting_replies).toBe(0);
    await endSup();
  });

  test("a bad timeout or an unknown name with wait is refused at once", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
[companions.a]
command = "forever"
`);
    await f.start();
    await f.waitState("a", "RUNNING");
    const bad = await f.requestLines([
      JSON.stringify({ cmd: "start", name: "a", wait: true, timeout: "soon" }),
      JSON.stringify({ cmd: "stop", name: "a", wait: true, timeout: -1 }),
      JSON.stringify({ cmd: "restart", name: "nope", wait: true }),
    ]);
    expect(bad[0]).toMatchObject({ ok: false, code: "BAD_REQUEST" });
    expect(bad[1]).toMatchObject({ ok: false, code: "BAD_REQUEST" });
    expect(bad[2]).toEqual(errReply("unknown companion nope", "BAD_NAME"));
    expect((await f.entry("a")).state).toBe("RUNNING");
    await endSup();
  });

  test("start / restart with wait of a STOPPING companion: started once its old tree is gone (without wait: STOPPING)", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0.5
stop_timeout = 1.5
[companions.x]
command = "ignore-term"
stdout = "x.log"
`);
    await f.start();
    const x0 = await f.waitState("x", "RUNNING");
    await f.waitReady("x", { pid: x0.pid! });
    expect(await f.request({ cmd: "stop", name: "x" })).toEqual(okReply("x stopping"));
    expect(await f.request({ cmd: "start", name: "x" })).toEqual(errReply("x is stopping; retry", "STOPPING"));
    expect(await f.request({ cmd: "restart", name: "x" })).toEqual(errReply("x is stopping; retry", "STOPPING"));
    const start = await ask(f.socket, { cmd: "start", name: "x", wait: true });
    expect(start.reply).toEqual(okReply("x started"));
    // the old tree was SIGKILLed at stop_timeout and only then the new one began
    expect(start.ms).toBeGreaterThanOrEqual(1000);
    expect(alive(x0.pid!)).toBe(false);
    const x1 = await f.entry("x");
    expect(x1.state).toBe("RUNNING");
    expect(x1.pid).not.toBe(x0.pid);
    expect(x1.manual_stop).toBe(false);
    await f.waitReady("x", { pid: x1.pid! });

    // the same with restart
    expect(await f.request({ cmd: "stop", name: "x" })).toEqual(okReply("x stopping"));
    const restart = await ask(f.socket, { cmd: "restart", name: "x", wait: true });
    expect(restart.reply).toEqual(okReply("x restarted"));
    expect(alive(x1.pid!)).toBe(false);
    const x2 = await f.entry("x");
    expect(x2.state).toBe("RUNNING");
    expect([x0.pid, x1.pid]).not.toContain(x2.pid);
    // one process: one name never has two live ones
    expect(f.census().filter((p) => p.cmd.includes("ignore-term"))).toEqual([expect.objectContaining({ pid: x2.pid })]);
    await f.waitReady("x", { pid: x2.pid! });
    await endSup("SIGQUIT");
  });

  test("a stop arriving while a start waits: that start is FAILED 'stopped before it was up'", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 30
stop_timeout = 5
[companions.a]
command = "forever"
`);
    await f.start();
    await stopFirst("a");
    const waiting = await send(f.socket, { cmd: "start", name: "a", wait: true });
    await f.waitState("a", "STARTING");
    await waitingReplies(1);
    expect(waiting.answered()).toBe(false);
    expect(await f.request({ cmd: "stop", name: "a" })).toEqual(okReply("a stopping"));
    const { reply, ms } = await waiting.reply(10_000);
    expect(reply).toMatchObject({ ok: false, code: "FAILED", message: "a: stopped before it was up", error: "a: stopped before it was up" });
    expect(["STOPPED", "STOPPING"]).toContain(reply.state);
    expect(ms).toBeLessThan(20_000); // not the 35 s timeout
    await f.waitState("a", "STOPPED");
    expect((await info()).waiting_replies).toBe(0);
    await endSup();
  });

  test("restart with wait: a new process, 'restarted' once it is RUNNING again", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 1
stop_timeout = 5
[companions.a]
command = "forever"
[companions.n]
command = "forever"
`);
    await f.start();
    await stopFirst("n");
    const a0 = await f.waitState("a", "RUNNING");
    const { reply, ms } = await ask(f.socket, { cmd: "restart", name: "a", wait: true });
    expect(reply).toEqual(okReply("a restarted"));
    expect(ms).toBeGreaterThanOrEqual(900); // the new run's startsecs
    const a1 = await f.entry("a");
    expect(a1.state).toBe("RUNNING");
    expect(a1.pid).not.toBe(a0.pid);
    expect(alive(a0.pid!)).toBe(false);
    expect(a1.restart_count).toBe(a0.restart_count + 1);
    // a restart of one never started: it runs
    const n = await ask(f.socket, { cmd: "restart", name: "n", wait: true });
    expect(n.reply).toMatchObject({ ok: true });
    expect(["n started", "n restarted"]).toContain(n.reply.message);
    expect((await f.entry("n")).state).toBe("RUNNING");
    await endSup();
  });
});

describe("pipelining while a reply waits", () => {
  test("a waiting start then a status on one connection: both answered, in order; another connection is answered at once", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 2
stop_timeout = 5
[companions.a]
command = "forever"
[companions.b]
command = "forever"
startsecs = 0
`);
    await f.start();
    await stopFirst("a", "b");
    const talk = await connect(f.socket);
    const sentAt = performance.now();
    talk.write(
      [
        JSON.stringify({ cmd: "start", name: "a", wait: true, id: 1 }),
        JSON.stringify({ cmd: "status", names: ["a"], id: 2 }),
        JSON.stringify({ cmd: "start", name: "b", wait: true, id: 3 }),
        JSON.stringify({ cmd: "version", id: 4 }),
      ].join("\n") + "\n",
    );
    // a second connection is not held up by the first one's waiting start
    await f.waitState("a", "STARTING");
    const other = await ask(f.socket, { cmd: "status", names: ["a"] });
    expect(other.ms).toBeLessThan(1500);
    expect(talk.text).toBe(""); // answered while the first connection still waits
    expect(other.reply.companions[0].state).toBe("STARTING");
    // b (startsecs 0) is already up, yet nothing is written before a's outcome: replies go in order
    await f.waitState("b", "RUNNING");
    expect(talk.text).toBe("");
    const got = await replies(talk, 4, "the pipelined requests");
    const ms = performance.now() - sentAt;
    talk.close();
    expect(got.map((r) => r.id)).toEqual([1, 2, 3, 4]);
    expect(got[0]).toEqual({ ...okReply("a started"), id: 1 });
    // the status was answered concurrently (a snapshot from before a's outcome), delivered after it
    expect(got[1]).toMatchObject({ ok: true, id: 2 });
    expect(got[1]!.companions.map((e: Json) => [e.name, e.state])).toEqual([["a", "STARTING"]]);
    expect(got[2]).toEqual({ ...okReply("b started"), id: 3 });
    expect(got[3]).toMatchObject({ ok: true, protocol: 2, id: 4 });
    expect(ms).toBeGreaterThanOrEqual(1900);
    expect((await info()).waiting_replies).toBe(0);
    await endSup();
  });
});

describe("a client that hangs up while it waits", () => {
  test("its wait is dropped (waiting_replies back to 0) and the companion's later change harms nothing", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 5
stop_timeout = 5
[companions.a]
command = "forever"
[companions.b]
command = "forever"
startsecs = 0
`);
    await f.start();
    await stopFirst("a");
    await f.waitState("b", "RUNNING");
    const manager = (await info()).manager_pid;
    expect((await info()).waiting_replies).toBe(0);

    // a waited start, then the client goes
    const start = await send(f.socket, { cmd: "start", name: "a", wait: true });
    await waitingReplies(1);
    // a wait command and a waited stop of a STOPPING companion from other clients too
    const wait = await send(f.socket, { cmd: "wait", names: ["a"], for: "stopped", timeout: 60 });
    await waitingReplies(2);
    start.talk.close();
    wait.talk.close();
    await waitingReplies(0, 5_000);
    // dropped because the clients went, not because a got there
    expect((await f.entry("a")).state).toBe("STARTING");

    // a becomes RUNNING and then stops: nobody to answer, nothing breaks
    await f.waitState("a", "RUNNING", 20_000);
    const stop = await send(f.socket, { cmd: "stop", name: "b", wait: true });
    stop.talk.close();
    await f.waitState("b", "STOPPED");
    expect(await f.request({ cmd: "stop", name: "a" })).toEqual(okReply("a stopping"));
    await f.waitState("a", "STOPPED");
    const after = await info();
    expect(after.waiting_replies).toBe(0);
    expect(after.manager_pid).toBe(manager);
    expect(after.manager_restarts).toBe(0);
    expect(f.output).not.toMatch(/internal error|uncaught|unhandled/i);
    // and the socket still serves a new waited command
    expect((await ask(f.socket, { cmd: "start", name: "b", wait: true })).reply).toEqual(okReply("b started"));
    expect(f.exitCode).toBeNull();
    await endSup();
  });
});

describe("the wait command", () => {
  const CONF = `
[defaults]
startsecs = 1
stop_timeout = 5
[companions.a]
command = "forever"
[companions.done]
command = "exit-with 0 0.2"
restart = "never"
startsecs = 0
[companions.off]
command = "forever"
`;

  test("ready: RUNNING, or EXITED 0 under restart never; names absent = all", async () => {
    f = new SupFixture(CONF);
    await f.start();
    const all = await ask(f.socket, { cmd: "wait", for: "ready", timeout: 30 });
    expect(all.reply).toMatchObject({ ok: true });
    expect(all.reply.code).toBeUndefined();
    const st = await f.status();
    expect(st.map((e) => [e.name, e.state])).toEqual([["a", "RUNNING"], ["done", "EXITED"], ["off", "RUNNING"]]);
    // already there: at once, also with timeout 0
    const now = await ask(f.socket, { cmd: "wait", names: ["a", "done"], for: "ready", timeout: 0 });
    expect(now.reply).toMatchObject({ ok: true });
    await endSup();
  });

  test("stopped: ok once the named ones are down; TIMEOUT lists the entries of the names asked", async () => {
    f = new SupFixture(CONF);
    await f.start();
    await stopFirst("off");
    const a = await f.waitState("a", "RUNNING");
    await f.waitState("done", "EXITED");

    // ready with a stopped one: TIMEOUT with the entries of the names asked
    const t = await ask(f.socket, { cmd: "wait", names: ["a", "off"], for: "ready", timeout: 0.5 });
    expect(t.reply).toMatchObject({ ok: false, code: "TIMEOUT" });
    expect(t.reply.message).toBe(t.reply.error);
    expect(t.ms).toBeGreaterThanOrEqual(400);
    expect(t.reply.companions.map((e: Json) => [e.name, e.state])).toEqual([["a", "RUNNING"], ["off", "STOPPED"]]);
    for (const e of t.reply.companions) expect(Object.keys(e).sort()).toEqual(expect.arrayContaining(ENTRY_KEYS));

    // stopped, with a running one: TIMEOUT
    const t2 = await ask(f.socket, { cmd: "wait", for: "stopped", timeout: 0.3 });
    expect(t2.reply).toMatchObject({ ok: false, code: "TIMEOUT" });
    expect(t2.reply.companions.map((e: Json) => e.name)).toEqual(["a", "done", "off"]);

    // a waiter for stopped, then the stop: answered once a's process is gone
    const w = await send(f.socket, { cmd: "wait", names: ["a", "done", "off"], for: "stopped", timeout: 30 });
    await waitingReplies(1);
    expect(w.answered()).toBe(false);
    expect(await f.request({ cmd: "stop", name: "a" })).toEqual(okReply("a stopping"));
    const r = await w.reply();
    expect(r.reply).toMatchObject({ ok: true });
    expect(alive(a.pid!)).toBe(false);
    expect((await f.entry("a")).state).toBe("STOPPED");
    expect((await info()).waiting_replies).toBe(0);
    await endSup();
  });

  test("errors: unknown name BAD_NAME, bad 'for' / timeout / names BAD_REQUEST", async () => {
    f = new SupFixture(CONF);
    await f.start();
    await stopFirst("off");
    await f.waitState("a", "RUNNING");
    const got = await f.requestLines([
      JSON.stringify({ cmd: "wait", names: ["a", "nope"], for: "ready", timeout: 1 }),
      JSON.stringify({ cmd: "wait", names: ["a"], for: "running", timeout: 1 }),
      JSON.stringify({ cmd: "wait", names: ["a"], for: "ready", timeout: "1" }),
      JSON.stringify({ cmd: "wait", names: ["a"], for: "ready", timeout: -1 }),
      JSON.stringify({ cmd: "wait", names: "a", for: "ready", timeout: 1 }),
    ]);
    expect(got[0]).toEqual(errReply("unknown companion nope", "BAD_NAME"));
    for (const r of got.slice(1)) {
      expect(r).toMatchObject({ ok: false, code: "BAD_REQUEST" });
      expect(r.message).toBe(r.error);
    }
    expect((await info()).waiting_replies).toBe(0);
    await endSup();
  });
});

describe("shutdown", () => {
  test("shutdown: the reply, then a graceful stop; sup run exits 0 and nothing is left", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 10
[companions.s]
command = "slow-stop 1"
stdout = "s.log"
[companions.t]
command = "tree"
`);
    await f.start();
    await f.waitState("s", "RUNNING");
    await f.waitState("t", "RUNNING");
    await f.waitReady("s");
    const t0 = performance.now();
    expect(await f.request({ cmd: "shutdown" })).toEqual(okReply("sup stopping"));
    expect(await f.waitExit(30_000)).toBe(0);
    // graceful: slow-stop had its second to finish (no SIGKILL at once)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(900);
    await f.waitNoProcs();
    expect(f.census()).toEqual([]);
  });

  test("shutdown fast: a TERM-ignoring companion with a long stop_timeout is SIGKILLed at once; exit 0", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 120
[companions.x]
command = "ignore-term"
stdout = "x.log"
[companions.t]
command = "tree"
`);
    await f.start();
    await f.waitState("x", "RUNNING");
    await f.waitState("t", "RUNNING");
    await f.waitReady("x");
    const t0 = performance.now();
    expect(await f.request({ cmd: "shutdown", fast: true })).toEqual(okReply("sup stopping"));
    expect(await f.waitExit(30_000)).toBe(0);
    expect(performance.now() - t0).toBeLessThan(10_000);
    await f.waitNoProcs();
    expect(f.census()).toEqual([]);
  });
});

describe("sockets", () => {
  test("status_socket: mode 0666, answers status/info/version/wait; start/stop/restart/signal/reread/shutdown are FORBIDDEN", async () => {
    f = new SupFixture(`
[sup]
status_socket = "ro.sock"
[defaults]
startsecs = 0
stop_timeout = 5
[companions.a]
command = "forever"
`);
    await f.start();
    const a = await f.waitState("a", "RUNNING");
    const ro = f.path("ro.sock");
    const st = statSync(ro);
    expect(st.isSocket()).toBe(true);
    expect((st.mode & 0o777).toString(8)).toBe("666");
    expect((statSync(f.socket).mode & 0o777).toString(8)).toBe("600");

    const status = await ask(ro, { cmd: "status" });
    expect(status.reply.ok).toBe(true);
    expect(status.reply.companions.map((e: Json) => [e.name, e.state, e.pid])).toEqual([["a", "RUNNING", a.pid]]);
    const inf = (await ask(ro, { cmd: "info" })).reply;
    expect(inf).toMatchObject({ ok: true, protocol: 2, status_socket: ro, waiting_replies: 0 });
    expect((await ask(ro, { cmd: "version" })).reply).toMatchObject({ ok: true, protocol: 2 });
    expect((await ask(ro, { cmd: "wait", names: ["a"], for: "ready", timeout: 5 })).reply).toMatchObject({ ok: true });
    // the control socket's info names it too
    expect((await info()).status_socket).toBe(ro);

    const forbidden = [
      { cmd: "start", name: "a" },
      { cmd: "start", name: "a", wait: true },
      { cmd: "stop", name: "a" },
      { cmd: "stop", name: "a", wait: true },
      { cmd: "restart", name: "a" },
      { cmd: "signal", name: "a", signal: "SIGKILL" },
      { cmd: "reread" },
      { cmd: "shutdown" },
      { cmd: "shutdown", fast: true },
    ];
    // all on one pipelined connection, between allowed ones: each answered, in order
    const talk = await connect(ro);
    talk.write([{ cmd: "version", id: 0 }, ...forbidden.map((r, i) => ({ ...r, id: i + 1 })), { cmd: "status", id: 99 }].map((r) => JSON.stringify(r) + "\n").join(""));
    const got = await replies(talk, forbidden.length + 2, "the read-only socket");
    talk.close();
    expect(got.map((r) => r.id)).toEqual([0, ...forbidden.map((_, i) => i + 1), 99]);
    expect(got[0]).toMatchObject({ ok: true, protocol: 2 });
    expect(got.at(-1)).toMatchObject({ ok: true });
    for (const [i, r] of got.slice(1, -1).entries()) {
      expect({ req: forbidden[i], ok: r.ok, code: r.code }).toEqual({ req: forbidden[i], ok: false, code: "FORBIDDEN" });
      expect(r.message).toBe(r.error);
      expect(r.message).toContain(forbidden[i]!.cmd);
    }
    // nothing happened: same process, still running, sup still up
    const a2 = await f.entry("a");
    expect([a2.state, a2.pid, a2.manual_stop]).toEqual(["RUNNING", a.pid, false]);
    expect(alive(a.pid!)).toBe(true);
    expect(f.exitCode).toBeNull();
    expect(f.output).not.toMatch(/shutdown.*requested/);
    await endSup();
  });

  test("socket_group: the control socket is mode 0660 and owned by that group, and serves", async () => {
    const group = "daemon";
    const line = readFileSync("/etc/group", "utf8").split("\n").find((l) => l.startsWith(`${group}:`));
    expect(line).toBeDefined();
    const gid = Number(line!.split(":")[2]);
    f = new SupFixture(`
[sup]
socket_group = "${group}"
[defaults]
startsecs = 0
[companions.a]
command = "forever"
`);
    await f.start();
    const st = statSync(f.socket);
    expect(st.isSocket()).toBe(true);
    expect((st.mode & 0o777).toString(8)).toBe("660");
    expect(st.gid).toBe(gid);
    await f.waitState("a", "RUNNING");
    await endSup();
  });
});

describe("a second SIGINT / SIGTERM during a graceful stop", () => {
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    test(`${sig} twice: the first stops gracefully (with the hint), the second SIGKILLs now; exit 0`, async () => {
      f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 120
[companions.x]
command = "ignore-term"
stdout = "x.log"
[companions.a]
command = "forever"
`);
      await f.start();
      const x = await f.waitState("x", "RUNNING");
      await f.waitState("a", "RUNNING");
      await f.waitReady("x");
      f.signal(sig);
      await f.waitOutput(/send it again for a fast stop/);
      // still stopping: the TERM-ignoring one waits for its 120 s stop_timeout
      await f.waitState("x", "STOPPING");
      await waitFor("a (which obeys TERM) to be gone", () => f.census().some((p) => p.cmd === "sleep 1000000"), (v) => !v, 15_000);
      expect(f.exitCode).toBeNull();
      expect(alive(x.pid!)).toBe(true);
      const t0 = performance.now();
      f.signal(sig);
      expect(await f.waitExit(10_000)).toBe(0);
      const ms = performance.now() - t0;
      expect(ms).toBeLessThan(5_000);
      expect(f.output).toMatch(new RegExp(`${sig}: graceful stop \\(send it again for a fast stop\\)`));
      await f.waitNoProcs();
      expect(f.census()).toEqual([]);
    });
  }
});
