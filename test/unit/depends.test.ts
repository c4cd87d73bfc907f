// Loop tests of readiness, health and dependencies (contract §4, §9): the Supervisor with a
// FakeHost; the test plays the probes (host.probe) and the processes (host.exitOf).
import { describe as group, expect, test } from "bun:test";
import { gracefulBudgetMs, validateConfig } from "../../src/config/validate.ts";
import { Supervisor } from "../../src/manager/supervisor.ts";
import { FakeHost } from "../helpers/fake-host.ts";
import { CONFIG_FILE, makeConfig, type RawTable } from "../helpers/specs.ts";

function setup(companions: Record<string, RawTable>) {
  const host = new FakeHost();
  const sup = new Supervisor(makeConfig(companions), host);
  const st = (name: string) => sup.status([name])[0]!;
  return { host, sup, st };
}

const sigs = (host: FakeHost, pid: number) => host.signals.filter((s) => s.pid === pid).map((s) => s.signal);

group("readiness", () => {
  test("STARTING until the check passes, however long startsecs is; then RUNNING, probes off", () => {
    const { host, sup, st } = setup({ db: { command: "db", startsecs: 0, ready: { tcp: 5432 } } });
    sup.startAll();
    const pid = host.pidOf("db");
    expect(st("db")).toMatchObject({ state: "STARTING", ready: false });
    expect(st("db").description).toMatch(/^starting, waiting for tcp 127\.0\.0\.1:5432 \(60s left\)$/);
    host.advance(30_000);
    expect(st("db").state).toBe("STARTING");
    host.probe(pid, { type: "ready", detail: "tcp 127.0.0.1:5432" });
    expect(st("db")).toMatchObject({ state: "RUNNING", ready: true, health: null });
    expect(host.logs).toContain(`db STARTING -> RUNNING (ready: tcp 127.0.0.1:5432, pid ${pid})`);
    // the ready probe ran only while STARTING; no health check: nothing after
    expect(host.procs[0]!.watches).toEqual(["ready", null]);
  });

  test("not ready within `within`: stopped, then BACKOFF as a failed run with the reason", () => {
    const { host, sup, st } = setup({ db: { command: "db", ready: { tcp: 5432, within: 2 }, stop_timeout: 3, restart_delay: 1, backoff: "fixed" } });
    sup.startAll();
    const pid = host.pidOf("db");
    host.advance(1999);
    expect(st("db").state).toBe("STARTING");
    host.advance(1);
    expect(st("db").state).toBe("STOPPING");
    expect(sigs(host, pid)).toEqual(["SIGTERM"]);
    host.exitPid(pid, null, "SIGTERM");
    expect(st("db")).toMatchObject({ state: "BACKOFF", manual_stop: false });
    expect(st("db").description).toStartWith("backoff, not ready within 2s (tcp 127.0.0.1:5432)");
    host.advance(1000);
    expect(st("db").state).toBe("STARTING");
    expect(host.spawnsOf("db")).toHaveLength(2);
  });

  test("a probe result of an old run changes nothing", () => {
    const { host, sup, st } = setup({ db: { command: "db", ready: { tcp: 5432 } } });
    sup.startAll();
    const old = host.pidOf("db");
    host.exitOf("db", 1);
    host.advance(1000);
    host.probe(old, { type: "ready", detail: "late" });
    expect(st("db").state).toBe("STARTING");
  });

  test("sd_notify: STATUS= in the description, RELOADING=1 makes it not ready until READY=1", () => {
    const { host, sup, st } = setup({ web: { command: "web", ready: { notify: true } } });
    sup.startAll();
    const pid = host.pidOf("web");
    host.probe(pid, { type: "status", text: "loading model" });
    expect(st("web").description).toContain("; loading model");
    host.probe(pid, { type: "ready", detail: "READY=1" });
    host.probe(pid, { type: "unready" });
    expect(st("web")).toMatchObject({ state: "RUNNING", ready: false });
    expect(st("web").description).toContain("not ready (reloading)");
    host.probe(pid, { type: "ready", detail: "READY=1" });
    expect(st("web").ready).toBe(true);
  });
});

group("health", () => {
  test("`failures` failed checks in a row restart it, with the reason; a pass in between resets the count", () => {
    const { host, sup, st } = setup({ web: { command: "web", startsecs: 0, health: { http: "http://127.0.0.1:8000/h", failures: 2 }, reload_timeout: 4 } });
    sup.startAll();
    const pid = host.pidOf("web");
    expect(host.procs[0]!.watches).toEqual(["health"]);
    expect(st("web").health).toBe("ok");
    host.probe(pid, { type: "health", ok: false, detail: "HTTP 503" });
    expect(st("web")).toMatchObject({ state: "RUNNING", health: "failing" });
    expect(st("web").description).toContain("unhealthy: HTTP 503 (1 of 2)");
    host.probe(pid, { type: "health", ok: true, detail: "ok" });
    expect(st("web").health).toBe("ok");
    host.probe(pid, { type: "health", ok: false, detail: "HTTP 503" });
    host.probe(pid, { type: "health", ok: false, detail: "HTTP 503" });
    expect(st("web").state).toBe("STOPPING");
    expect(host.logs).toContain("web RUNNING -> STOPPING (unhealthy: HTTP 503 (2 failed checks))");
    host.exitPid(pid, null, "SIGTERM");
    expect(st("web")).toMatchObject({ state: "RUNNING", restart_count: 1, health: "ok" });
    expect(host.procs[0]!.watches).toEqual(["health", null]);
  });
});

group("dependencies", () => {
  const chain = {
    db: { command: "db", ready: { tcp: 5432 } },
    migrate: { command: "migrate", restart: "never", depends_on: { db: "ready" } },
    web: { command: "web", startsecs: 0, depends_on: { db: "ready", migrate: "completed" } },
    worker: { command: "worker", startsecs: 0, depends_on: ["db"] },
    cache: { command: "cache", startsecs: 0 },
  };

  test("db -> migrate (completed) -> web: each starts once what it waits for holds", () => {
    const { host, sup, st } = setup(chain);
    sup.startAll();
    expect(host.live().map((p) => p.name)).toEqual(["db", "cache"]);
    expect(st("web")).toMatchObject({ state: "WAITING", waiting_for: ["db", "migrate"], description: "waiting, for db (ready), migrate (completed)" });
    host.probe(host.pidOf("db"), { type: "ready", detail: "tcp" });
    expect(host.live().map((p) => p.name)).toEqual(["db", "cache", "migrate", "worker"]);
    expect(st("web")).toMatchObject({ state: "WAITING", waiting_for: ["migrate"] });
    host.exitOf("migrate", 0);
    expect(st("migrate").state).toBe("EXITED");
    expect(st("web")).toMatchObject({ state: "RUNNING", waiting_for: [] });
    expect(host.logs).toContain("web WAITING -> STARTING (dependencies met: migrate (completed))");
  });

  test("a failed one-shot keeps its dependents WAITING; a stop of a WAITING one is STOPPED at once", () => {
    const { host, sup, st } = setup(chain);
    sup.startAll();
    host.probe(host.pidOf("db"), { type: "ready", detail: "tcp" });
    host.exitOf("migrate", 3);
    expect(st("migrate").state).toBe("EXITED");
    expect(st("web").state).toBe("WAITING");
    expect(sup.command("stop", "web")).toEqual({ ok: true, message: "web stopped" });
    expect(st("web")).toMatchObject({ state: "STOPPED", manual_stop: true });
    expect(sup.command("start", "web")).toEqual({ ok: true, message: "web waiting for migrate (completed; it exited with status 3)" });
    // stuck for good: said in status, and sup's own READY=1 is not held back by it
    expect(st("web").description).toBe("waiting, for migrate (completed; it exited with status 3)");
    expect(sup.settled()).toBe(true);
  });

  test("shutdown stops in reverse order: db only once web and worker are gone; unrelated cache at once", () => {
    const { host, sup, st } = setup(chain);
    sup.startAll();
    const db = host.pidOf("db");
    host.probe(db, { type: "ready", detail: "tcp" });
    host.exitOf("migrate", 0);
    const [web, worker, cache] = [host.pidOf("web"), host.pidOf("worker"), host.pidOf("cache")];
    sup.stopAll(false);
    host.flushSoon();
    expect(sigs(host, web)).toEqual(["SIGTERM"]);
    expect(sigs(host, worker)).toEqual(["SIGTERM"]);
    expect(sigs(host, cache)).toEqual(["SIGTERM"]);
    expect(sigs(host, db)).toEqual([]);
    expect(st("db")).toMatchObject({ state: "STOPPING", description: "stopping, after its dependents" });
    host.exitPid(web, null, "SIGTERM");
    expect(sigs(host, db)).toEqual([]);
    host.exitPid(worker, null, "SIGTERM");
    expect(sigs(host, db)).toEqual(["SIGTERM"]);
    expect(host.logs).toContain("db: no companion that depends on it is still stopping; sending SIGTERM");
    host.exitPid(cache, null, "SIGTERM");
    host.exitPid(db, null, "SIGTERM");
    expect(host.exitCodes).toEqual([0]);
  });

  test("a held stop is SIGKILLed at its own stop_timeout, counted from its signal", () => {
    const { host, sup } = setup({ db: { command: "db", startsecs: 0, stop_timeout: 2 }, web: { command: "web", startsecs: 0, depends_on: ["db"], stop_timeout: 5 } });
    sup.startAll();
    const [db, web] = [host.pidOf("db"), host.pidOf("web")];
    sup.stopAll(false);
    host.flushSoon();
    host.advance(4000);
    host.exitPid(web, null, "SIGTERM");
    expect(sigs(host, db)).toEqual(["SIGTERM"]);
    host.advance(1999);
    expect(sigs(host, db)).toEqual(["SIGTERM"]);
    host.advance(1);
    expect(sigs(host, db)).toEqual(["SIGTERM", "SIGKILL"]);
  });

  test("stop of one companion alone does not wait for its running dependents (they are not stopping)", () => {
    const { host, sup, st } = setup(chain);
    sup.startAll();
    const db = host.pidOf("db");
    host.probe(db, { type: "ready", detail: "tcp" });
    expect(sup.command("stop", "db")).toEqual({ ok: true, message: "db stopping" });
    host.flushSoon();
    expect(sigs(host, db)).toEqual(["SIGTERM"]);
    expect(st("worker").state).toBe("RUNNING");
  });

  test("stops arriving in one tick (stop all): db waits for web even when its stop came first", () => {
    const { host, sup } = setup({ db: { command: "db", startsecs: 0 }, web: { command: "web", startsecs: 0, depends_on: ["db"] } });
    sup.startAll();
    const [db, web] = [host.pidOf("db"), host.pidOf("web")];
    sup.command("stop", "db");
    sup.command("stop", "web");
    host.flushSoon();
    expect(sigs(host, web)).toEqual(["SIGTERM"]);
    expect(sigs(host, db)).toEqual([]);
    host.exitPid(web, null, "SIGTERM");
    expect(sigs(host, db)).toEqual(["SIGTERM"]);
  });

  test("a second stop of a held companion keeps it held", () => {
    const { host, sup } = setup({ db: { command: "db", startsecs: 0 }, web: { command: "web", startsecs: 0, depends_on: ["db"] } });
    sup.startAll();
    const [db, web] = [host.pidOf("db"), host.pidOf("web")];
    sup.stopAll(false);
    host.flushSoon();
    expect(sup.command("stop", "db")).toEqual({ ok: true, message: "db already stopping" });
    host.flushSoon();
    expect(sigs(host, db)).toEqual([]);
    host.exitPid(web, null, "SIGTERM");
    expect(sigs(host, db)).toEqual(["SIGTERM"]);
  });

  test("a waited start of a companion whose dependency is stuck fails at once, saying why", async () => {
    const { host, sup } = setup({ db: { command: "db", startsecs: 0, autostart: false }, web: { command: "web", startsecs: 0, depends_on: ["db"] } });
    sup.startAll();
    expect(host.live()).toHaveLength(0);
    const waiting = sup.commandWait("start", "web", 60_000);
    host.flushSoon(); // the rest of the request batch is in
    const r = await waiting;
    expect(r).toMatchObject({ ok: false, code: "FAILED", state: "WAITING", message: "web: waiting for db (ready; it is not started (autostart = false))" });
    sup.command("start", "db");
    expect(host.live().map((p) => p.name)).toEqual(["db", "web"]);
  });

  test("fast stop ignores the order: SIGKILL to every group at once", () => {
    const { host, sup } = setup({ db: { command: "db", startsecs: 0 }, web: { command: "web", startsecs: 0, depends_on: ["db"] } });
    sup.startAll();
    const [db, web] = [host.pidOf("db"), host.pidOf("web")];
    sup.stopAll(true);
    expect(sigs(host, db)).toEqual(["SIGKILL"]);
    expect(sigs(host, web)).toEqual(["SIGKILL"]);
  });

  test("a reread that adds a dependency on a running companion starts the new one in order", () => {
    const { host, sup, st } = setup({ db: { command: "db", ready: { tcp: 5432 } } });
    sup.startAll();
    sup.reread(makeConfig({ db: { command: "db", ready: { tcp: 5432 } }, api: { command: "api", startsecs: 0, depends_on: ["db"] } }));
    expect(st("api").state).toBe("WAITING");
    host.probe(host.pidOf("db"), { type: "ready", detail: "tcp" });
    expect(st("api").state).toBe("RUNNING");
  });
});

group("start-up", () => {
  test("the initial start goes in slices of ~20 ms of work; the loop serves others in between; done once all started", () => {
    const companions = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`c${i}`, { command: "x", startsecs: 0 }]));
    const { host, sup, st } = setup(companions);
    host.spawnCost = 10;
    let done = 0;
    sup.startAll(() => done++);
    expect(host.live()).toHaveLength(2);
    // a command between two slices is served, and the slice after does not start it twice
    expect(sup.command("start", "c9")).toEqual({ ok: true, message: "c9 started" });
    expect(sup.command("stop", "c5")).toEqual({ ok: true, message: "c5 already stopped" });
    expect(done).toBe(0);
    host.flushSoon();
    expect(done).toBe(1);
    expect(host.live().map((p) => p.name).sort()).toEqual(["c0", "c1", "c2", "c3", "c4", "c6", "c7", "c8", "c9"]);
    expect(host.spawnsOf("c9")).toHaveLength(1);
    expect(st("c5")).toMatchObject({ state: "STOPPED", manual_stop: true });
  });
});

group("config", () => {
  const problems = (companions: Record<string, unknown>) => {
    const r = validateConfig({ companions }, CONFIG_FILE);
    return r.ok ? [] : r.problems;
  };

  test("unknown names (with a did-you-mean) and cycles are errors at the key", () => {
    expect(problems({ web: { command: "w", depends_on: ["dbb"] }, db: { command: "d" } })).toEqual(['companions.web.depends_on: unknown companion "dbb" (did you mean "db"?)']);
    expect(problems({ a: { command: "a", depends_on: ["b"] }, b: { command: "b", depends_on: { c: "started" } }, c: { command: "c", depends_on: ["a"] } })).toEqual([
      "companions.a.depends_on: dependency cycle: a -> b -> c -> a",
    ]);
    expect(problems({ a: { command: "a", depends_on: ["a"] } })).toEqual(["companions.a.depends_on: dependency cycle: a -> a"]);
    expect(problems({ a: { command: "a", depends_on: { b: "done" } }, b: { command: "b" } })[0]).toStartWith('companions.a.depends_on.b: must be "started", "ready" or "completed"');
  });

  test("`completed` on a companion that always restarts can never hold: a config error", () => {
    expect(problems({ m: { command: "m" }, web: { command: "w", depends_on: { m: "completed" } } })).toEqual([
      'companions.web.depends_on: m has restart = "always": it never completes (a one-shot needs restart = "never" or "on-failure")',
    ]);
    expect(problems({ m: { command: "m", restart: "on-failure" }, web: { command: "w", depends_on: { m: "completed" } } })).toEqual([]);
  });

  test("a name with instances means all of them", () => {
    const cfg = makeConfig({ worker: { command: "w", instances: 3 }, web: { command: "x", depends_on: { worker: "started" } } });
    expect(cfg.companions.find((c) => c.name === "web")!.dependsOn).toEqual([1, 2, 3].map((i) => ({ name: `worker.${i}`, condition: "started" })));
  });

  test("one kind of check; watchdog needs notify; log needs captured output; [defaults] does not take them", () => {
    expect(problems({ a: { command: "a", ready: { tcp: 1, http: "http://x/" } } })).toEqual(["companions.a.ready: takes one kind of check, not tcp and http"]);
    expect(problems({ a: { command: "a", ready: {} } })[0]).toStartWith("companions.a.ready: needs one of notify, fd, tcp, http, exec, log");
    expect(problems({ a: { command: "a", ready: { tcp: "nohost" } } })[0]).toStartWith('companions.a.ready.tcp: must be a port number or "host:port"');
    expect(problems({ a: { command: "a", ready: { log: "(" } } })[0]).toStartWith("companions.a.ready.log: is not a regular expression");
    expect(problems({ a: { command: "a", health: { watchdog: 5 } } })).toEqual(["companions.a.health.watchdog: needs ready = { notify = true } (the companion sends WATCHDOG=1 over sd_notify)"]);
    expect(problems({ a: { command: "a", ready: { log: "up" }, stdout: "null", stderr: "null" } })[0]).toStartWith("companions.a.ready.log: needs captured output");
    expect(problems({ a: { command: "a", health: { notify: true } } })[0]).toStartWith("companions.a.health.notify: unknown key");
    const r = validateConfig({ defaults: { ready: { tcp: 1 } }, companions: {} }, CONFIG_FILE);
    expect(r.ok ? [] : r.problems).toEqual(["defaults.ready: belongs in [companions.NAME] (each companion has its own ready; [defaults] does not take it)"]);
  });

  test("defaults of a check; a notify channel shapes the process (restart at reread), a tcp port does not", () => {
    const spec = (ready: RawTable) => makeConfig({ a: { command: "a", ready } }).companions[0]!;
    expect(spec({ tcp: "[::1]:80" }).ready).toEqual({ probe: { kind: "tcp", host: "::1", port: 80 }, intervalMs: 500, timeoutMs: 1000, withinMs: 60_000, failures: 1 });
    expect(spec({ tcp: 80 }).hash).toBe(spec({ tcp: 81 }).hash);
    expect(spec({ tcp: 80 }).policyHash).not.toBe(spec({ tcp: 81 }).policyHash);
    expect(spec({ notify: true }).hash).not.toBe(spec({ tcp: 81 }).hash);
    const h = makeConfig({ a: { command: "a", health: { exec: "true" } } }).companions[0]!.health;
    expect(h).toEqual({ probe: { kind: "exec", argv: ["/bin/sh", "-c", "true"] }, intervalMs: 10_000, timeoutMs: 2000, withinMs: 0, failures: 3 });
  });

  test("${VAR} in a check: each instance probes its own port", () => {
    const cfg = makeConfig({
      web: { command: "w", instances: 2, env: { PORT: "80${SUP_INSTANCE}" }, ready: { tcp: "127.0.0.1:${PORT}" }, health: { http: "http://127.0.0.1:90${SUP_INSTANCE}/h" } },
      job: { command: "j", ready: { exec: ["check", "--name=${SUP_NAME}"] } },
    });
    expect(cfg.companions.map((c) => c.ready?.probe)).toEqual([
      { kind: "tcp", host: "127.0.0.1", port: 801 },
      { kind: "tcp", host: "127.0.0.1", port: 802 },
      { kind: "exec", argv: ["check", "--name=job"] },
    ]);
    expect(cfg.companions[1]!.health!.probe).toEqual({ kind: "http", url: "http://127.0.0.1:902/h", status: null });
    expect(problems({ a: { command: "a", ready: { tcp: "127.0.0.1:${NOPE:-x}" } } })).toEqual(['companions.a.ready.tcp: must be a port number or "host:port" (e.g. 5432 or "127.0.0.1:5432") (after expanding 127.0.0.1:${NOPE:-x})']);
  });

  test("the default graceful budget covers the longest chain of stop timeouts", () => {
    const cfg = makeConfig({
      db: { command: "d", stop_timeout: 10 },
      api: { command: "a", stop_timeout: 4, depends_on: ["db"] },
      web: { command: "w", stop_timeout: 3, depends_on: ["api"] },
      solo: { command: "s", stop_timeout: 12 },
    });
    expect(gracefulBudgetMs(cfg)).toBe(17_000 + 5000);
  });
});

group("waited starts", () => {
  test("a one-shot that ends cleanly before startsecs did what was asked; a dependency started in the same batch is waited for", async () => {
    const { host, sup } = setup({ mig: { command: "m", restart: "never", autostart: false }, off: { command: "o", startsecs: 0, autostart: false }, app: { command: "a", startsecs: 0, autostart: false, depends_on: ["off"] } });
    sup.startAll();
    const mig = sup.commandWait("start", "mig");
    host.exitOf("mig", 0);
    expect(await mig).toMatchObject({ ok: true, message: "mig started and exited with status 0" });
    // `sup start app off`: app's reply waits for the batch, in which off is started
    const app = sup.commandWait("start", "app");
    const off = sup.commandWait("start", "off");
    host.flushSoon();
    expect(await off).toMatchObject({ ok: true });
    expect(await app).toMatchObject({ ok: true, message: "app started" });
  });

  test("a reread that removes the ready check of a STARTING companion promotes it by startsecs, counted from its start", () => {
    const { host, sup, st } = setup({ s: { command: "s", startsecs: 1, ready: { exec: "false", within: 15 } } });
    sup.startAll();
    host.advance(3000);
    expect(st("s").state).toBe("STARTING");
    expect(sup.reread(makeConfig({ s: { command: "s", startsecs: 1 } })).updated).toEqual(["s"]);
    expect(st("s").state).toBe("RUNNING");
  });
});
