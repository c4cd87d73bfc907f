// Replies that wait for their outcome (contract §5 wait: true, and the wait command), in the
// loop with a fake host: every outcome, the timeout, a start during a drain, a stop while a
// start waits, and a client that hangs up (nothing is kept for it).
import { describe as group, expect, test } from "bun:test";
import { Supervisor } from "../../src/manager/supervisor.ts";
import { FakeHost } from "../helpers/fake-host.ts";
import { makeConfig, type RawTable } from "../helpers/specs.ts";

function setup(companions: Record<string, RawTable>) {
  const host = new FakeHost();
  const sup = new Supervisor(makeConfig(companions), host);
  const st = (name: string) => sup.status([name])[0]!;
  return { host, sup, st };
}

/** settle a promise's state without waiting for it: "pending" or its value */
async function peek<T>(p: Promise<T>): Promise<T | "pending"> {
  return Promise.race([p, new Promise<"pending">((r) => setTimeout(() => r("pending"), 0))]);
}

group("waited start/restart", () => {
  test("RUNNING after startsecs: ok, not before", async () => {
    const { host, sup } = setup({ web: { command: "web", startsecs: 2 } });
    const r = sup.commandWait("start", "web");
    expect(await peek(r)).toBe("pending");
    host.advance(1999);
    expect(await peek(r)).toBe("pending");
    host.advance(1);
    expect(await r).toEqual({ ok: true, message: "web started" });
    expect(sup.waitingReplies).toBe(0);
  });

  test("a command that cannot be spawned: FAILED with the reason and the state", async () => {
    const { host, sup } = setup({ typo: { command: "pyhton3" } });
    host.failNextSpawn("typo", "command not found: pyhton3");
    expect(await sup.commandWait("start", "typo")).toEqual({ ok: false, code: "FAILED", message: "typo: command not found: pyhton3", state: "FATAL" });
  });

  test("an exit before it was up: FAILED, exit status named", async () => {
    const { host, sup } = setup({ crash: { command: "crash", startsecs: 1 } });
    const r = sup.commandWait("start", "crash");
    host.advance(200);
    host.exitOf("crash", 3);
    expect(await r).toEqual({ ok: false, code: "FAILED", message: "crash: exited with status 3 before it was up", state: "BACKOFF" });
  });

  test("TIMEOUT with the current state; the default is startsecs + 5 s", async () => {
    const { host, sup } = setup({ slow: { command: "slow", startsecs: 30 } });
    const r = sup.commandWait("start", "slow", 1000);
    host.advance(999);
    await Bun.sleep(1100); // the timeout is a real timer (the fake clock drives only the loop)
    expect(await r).toEqual({ ok: false, code: "TIMEOUT", message: "slow: still STARTING after 1s", state: "STARTING" });
    expect(sup.waitingReplies).toBe(0);
  });

  test("start of a STOPPING companion: started once the old tree is gone", async () => {
    const { host, sup, st } = setup({ web: { command: "web", startsecs: 0, stop_timeout: 5 } });
    sup.startAll();
    const old = host.pidOf("web");
    sup.command("stop", "web");
    expect(sup.command("start", "web")).toMatchObject({ ok: false, code: "STOPPING" }); // without wait: refused as before
    const r = sup.commandWait("start", "web");
    expect(st("web").state).toBe("STOPPING");
    expect(await peek(r)).toBe("pending");
    host.exitPid(old, null, "SIGTERM");
    expect(await r).toEqual({ ok: true, message: "web started" });
    expect(host.pidOf("web")).not.toBe(old);
    expect(st("web").manual_stop).toBe(false);
    expect(st("web").restart_count).toBe(0); // an operator's start, not a restart (contract §4)
  });

  test("a stop arriving while a start waits: the start is FAILED, the stop wins", async () => {
    const { host, sup, st } = setup({ web: { command: "web", startsecs: 5 } });
    const r = sup.commandWait("start", "web");
    host.advance(100);
    sup.command("stop", "web");
    host.exitOf("web", null, "SIGTERM");
    expect(await r).toMatchObject({ ok: false, code: "FAILED", message: "web: stopped before it was up" });
    expect(st("web").state).toBe("STOPPED");
  });

  test("restart waits for a new process to be up", async () => {
    const { host, sup } = setup({ web: { command: "web", startsecs: 1 } });
    sup.startAll();
    host.advance(1000);
    const old = host.pidOf("web");
    const r = sup.commandWait("restart", "web");
    expect(await peek(r)).toBe("pending");
    host.exitPid(old, null, "SIGTERM");
    expect(await peek(r)).toBe("pending");
    host.advance(1000);
    expect(await r).toEqual({ ok: true, message: "web restarted" });
  });

  test("already running: the immediate reply", async () => {
    const { sup } = setup({ web: { command: "web", startsecs: 0 } });
    sup.startAll();
    expect(await sup.commandWait("start", "web")).toEqual({ ok: true, message: "web already running" });
  });
});

group("waited stop and the wait command", () => {
  test("stop replies once the tree is gone", async () => {
    const { host, sup } = setup({ web: { command: "web", startsecs: 0 } });
    sup.startAll();
    const r = sup.commandWait("stop", "web");
    expect(await peek(r)).toBe("pending");
    host.exitOf("web", null, "SIGTERM");
    expect(await r).toEqual({ ok: true, message: "web stopped" });
  });

  test("a client that hangs up: its waiter is dropped at once", async () => {
    const { sup } = setup({ web: { command: "web", startsecs: 60 } });
    const abort = new AbortController();
    const r = sup.commandWait("start", "web", undefined, abort.signal);
    expect(sup.waitingReplies).toBe(1);
    abort.abort();
    expect(sup.waitingReplies).toBe(0);
    expect(await peek(r)).toBe("pending"); // never answered: nobody is there to read it
  });

  test("wait --for ready: ok once all are RUNNING; TIMEOUT lists who is not, with entries", async () => {
    const { host, sup } = setup({ a: { command: "a", startsecs: 1 }, b: { command: "b", startsecs: 2 } });
    sup.startAll();
    const r = sup.waitFor(["a", "b"], "ready", 60_000);
    host.advance(1000);
    expect(await peek(r)).toBe("pending");
    host.advance(1000);
    expect(await r).toMatchObject({ ok: true });
    const t = await sup.waitFor(["a"], "stopped", 10);
    expect(t).toMatchObject({ ok: false, code: "TIMEOUT", message: "not stopped after 0.01s: a" });
    expect((t.companions as { name: string }[]).map((c) => c.name)).toEqual(["a"]);
  });
});
