// Dependencies (§9): WAITING (with waiting_for) until each dependency's condition holds
// (started / ready / completed), then started in dependency order, whatever the file order;
// unknown names and cycles are config errors; at shutdown, `stop all` and removal a companion
// gets its stop signal only once everything that depends on it is gone, while unrelated ones
// stop in parallel. Order is proven by the fixtures' own records (test/fixtures/ready-server
// --record) and the `events` stream, never by timing.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { EventStream, first, freePort, records, waitRecord } from "../helpers/ready.ts";
import { SupFixture } from "../helpers/sup.ts";

// real processes on a slow shared machine: bun resets the default (5 s) for every file
setDefaultTimeout(120_000);

let f: SupFixture;
let events: EventStream | null = null;
afterEach(async () => {
  events?.close();
  events = null;
  await f?.cleanup();
});

test("a chain db (ready) -> migrate (completed) -> web starts in dependency order, each WAITING with waiting_for until its condition holds", async () => {
  const dbPort = freePort();
  const webPort = freePort();
  // the file lists them backwards: dependencies, not file order, decide
  f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 5
[companions.web]
command = "ready-server http 0 ${webPort} / --record web.rec"
ready = { http = "http://127.0.0.1:${webPort}/", interval = 0.2 }
depends_on = { migrate = "completed" }
[companions.migrate]
command = "ready-server exit 0 0 --record migrate.rec --ready-when migrate.go"
restart = "never"
depends_on = { db = "ready" }
[companions.api]
command = "ready-server never 0 --record api.rec"
depends_on = ["db"]
[companions.side]
command = "ready-server never 0 --record side.rec"
depends_on = { db = "started" }
[companions.db]
command = "ready-server tcp 0 ${dbPort} --record db.rec --ready-when db.go"
ready = { tcp = ${dbPort}, interval = 0.2 }
`);
  await f.start();
  events = await EventStream.open(f);

  // db is spawned but not ready: "started" is met, "ready" is not
  const db = await f.waitEntry("db", "to be spawned", (e) => e.pid !== null);
  expect(db).toMatchObject({ state: "STARTING", ready: false });
  await f.waitEntry("side", "to be spawned (db started)", (e) => e.pid !== null);
  await waitRecord(f, "side.rec", "start");
  expect((await f.entry("db")).state).toBe("STARTING");
  for (const n of ["api", "migrate"]) {
    expect(await f.entry(n)).toMatchObject({ state: "WAITING", pid: null, waiting_for: ["db"], description: "waiting, for db (ready)", ready: null });
  }
  expect(await f.entry("web")).toMatchObject({ state: "WAITING", pid: null, waiting_for: ["migrate"], description: "waiting, for migrate (completed)" });
  const st = await f.ctl("status");
  expect(st.code).toBe(4);
  expect(st.stdout).toMatch(/web\s+WAITING/);
  const late = await f.ctl("wait", "--timeout", "1", "web");
  expect(late.code).toBe(4);
  expect(late.stderr).toContain("web: not ready (WAITING");
  for (const n of ["api", "migrate", "web"]) expect(records(f, `${n}.rec`)).toEqual([]);

  // db ready: api and migrate start; web still waits for migrate to complete
  f.write("", "db.go");
  await f.waitState("db", "RUNNING", 20_000);
  await f.waitState("api", "RUNNING", 20_000);
  await f.waitEntry("migrate", "to be spawned", (e) => e.pid !== null, 20_000);
  await waitRecord(f, "migrate.rec", "start");
  expect(await f.entry("web")).toMatchObject({ state: "WAITING", waiting_for: ["migrate"], pid: null });
  expect(records(f, "web.rec")).toEqual([]);

  // migrate completes: web starts and becomes ready
  f.write("", "migrate.go");
  await f.waitState("migrate", "EXITED", 20_000);
  const web = await f.waitState("web", "RUNNING", 20_000);
  expect(web).toMatchObject({ ready: true, waiting_for: [] });
  expect(await f.entry("migrate")).toMatchObject({ last_exit_code: 0, waiting_for: [] });
  expect((await f.ctl("status")).code).toBe(0);

  // the fixtures' own clocks: each started after what it depends on got there
  const dbReady = first(f, "db.rec", "ready").t;
  expect(first(f, "side.rec", "start").t).toBeLessThan(dbReady);
  expect(first(f, "api.rec", "start").t).toBeGreaterThan(dbReady);
  expect(first(f, "migrate.rec", "start").t).toBeGreaterThan(dbReady);
  expect(first(f, "web.rec", "start").t).toBeGreaterThan(first(f, "migrate.rec", "exit").t);

  // and the events say the same
  await events.waitChange("web", "to RUNNING", (e) => e.to === "RUNNING");
  const at = (name: string, from: string, to: string) => {
    const i = events!.indexOf(name, from, to);
    if (i < 0) throw new Error(`no event ${name} ${from} -> ${to}: ${JSON.stringify(events!.changes())}`);
    return i;
  };
  const order = [at("db", "STARTING", "RUNNING"), at("migrate", "WAITING", "STARTING"), at("migrate", "*", "EXITED"), at("web", "WAITING", "STARTING"), at("web", "STARTING", "RUNNING")];
  expect(order).toEqual([...order].sort((a, b) => a - b));
  expect(at("db", "STARTING", "RUNNING")).toBeLessThan(at("api", "WAITING", "STARTING"));
});

test('"completed" means a success exit: a failed one-shot leaves its dependent WAITING; WAITING answers start and stop', async () => {
  f = new SupFixture(`
[defaults]
startsecs = 0
[companions.migrate]
command = "ready-server exit 0 3 --record migrate.rec --ready-when migrate.go"
restart = "never"
[companions.web]
command = "forever"
depends_on = { migrate = "completed" }
`);
  await f.start();
  await waitRecord(f, "migrate.rec", "start");
  expect(await f.entry("web")).toMatchObject({ state: "WAITING", waiting_for: ["migrate"] });
  expect(await f.request({ cmd: "start", name: "web" })).toEqual({ ok: true, message: "web already waiting" });
  expect(await f.request({ cmd: "restart", name: "web" })).toEqual({ ok: true, message: "web already waiting" });
  f.write("", "migrate.go");
  const m = await f.waitState("migrate", "EXITED", 20_000);
  expect(m.last_exit_code).toBe(3);
  // the exit is handled: web saw it and still waits
  expect(await f.entry("web")).toMatchObject({ state: "WAITING", waiting_for: ["migrate"], pid: null });

  expect(await f.request({ cmd: "stop", name: "web" })).toEqual({ ok: true, message: "web stopped" });
  expect(await f.entry("web")).toMatchObject({ state: "STOPPED", pid: null, manual_stop: true, waiting_for: [] });
  // a start puts it back to WAITING
  expect((await f.request({ cmd: "start", name: "web" })).ok).toBe(true);
  expect(await f.entry("web")).toMatchObject({ state: "WAITING", waiting_for: ["migrate"], manual_stop: false });
});

test("depending on a companion with instances means all of its instances", async () => {
  f = new SupFixture(`
[defaults]
startsecs = 0
[companions.w]
command = "exec ready-server notify 0 --record w$SUP_INSTANCE.rec --ready-when go$SUP_INSTANCE"
instances = 2
ready = { notify = true }
[companions.x]
command = "ready-server never 0 --record x.rec"
depends_on = ["w"]
`);
  await f.start();
  for (const n of ["w.1", "w.2"]) await f.waitEntry(n, "to be spawned", (e) => e.pid !== null);
  expect(await f.entry("x")).toMatchObject({ state: "WAITING", pid: null });
  f.write("", "go1");
  await f.waitEntry("w.1", "to be RUNNING and ready", (e) => e.state === "RUNNING" && e.ready === true, 20_000);
  // one instance of two is not enough
  expect(await f.entry("w.2")).toMatchObject({ state: "STARTING", ready: false });
  expect(await f.entry("x")).toMatchObject({ state: "WAITING", pid: null });
  expect(records(f, "x.rec")).toEqual([]);
  f.write("", "go2");
  await f.waitState("x", "RUNNING", 20_000);
  await waitRecord(f, "x.rec", "start");
  expect(first(f, "x.rec", "start").t).toBeGreaterThan(first(f, "w2.rec", "ready").t);
});

describe("config errors: unknown names and cycles", () => {
  const cases: [string, string, RegExp[]][] = [
    ["an unknown name", `[companions.web]\ncommand = "forever"\ndepends_on = ["nope"]\n`, [/companions\.web\.depends_on/, /nope/]],
    ["an unknown name (table form)", `[companions.web]\ncommand = "forever"\ndepends_on = { nope = "ready" }\n`, [/companions\.web\.depends_on/, /nope/]],
    ["an unknown condition", `[companions.db]\ncommand = "forever"\n[companions.web]\ncommand = "forever"\ndepends_on = { db = "healthy" }\n`, [/companions\.web\.depends_on/, /started|ready|completed|healthy/]],
    ["a cycle of two", `[companions.a]\ncommand = "forever"\ndepends_on = ["b"]\n[companions.b]\ncommand = "forever"\ndepends_on = ["a"]\n`, [/companions\.(a|b)\.depends_on/, /cycl/i]],
    ["a cycle of three", `[companions.a]\ncommand = "forever"\ndepends_on = ["c"]\n[companions.b]\ncommand = "forever"\ndepends_on = ["a"]\n[companions.c]\ncommand = "forever"\ndepends_on = { b = "started" }\n`, [/companions\.(a|b|c)\.depends_on/, /cycl/i]],
    ["itself", `[companions.a]\ncommand = "forever"\ndepends_on = ["a"]\n`, [/companions\.a\.depends_on/, /cycl|itself/i]],
  ];
  for (const [what, toml, want] of cases) {
    test(`${what}: sup check and sup run exit 2 naming the key; nothing starts`, async () => {
      f = new SupFixture(toml);
      const c = await f.sup(["check", "-c", f.config]);
      expect(c.code).toBe(2);
      for (const re of want) expect(c.stdout + c.stderr).toMatch(re);
      const r = await f.sup(["run", "-c", f.config], { timeoutMs: 20_000 });
      expect(r.code).toBe(2);
      for (const re of want) expect(r.stdout + r.stderr).toMatch(re);
      expect(f.census()).toEqual([]);
    });
  }

  test("a reread that brings a cycle is refused and changes nothing", async () => {
    f = new SupFixture(`[companions.a]\ncommand = "forever"\nstartsecs = 0\n[companions.b]\ncommand = "forever"\nstartsecs = 0\ndepends_on = ["a"]\n`);
    await f.start();
    const pids = await f.allRunning(["a", "b"]);
    f.write(`[companions.a]\ncommand = "forever"\nstartsecs = 0\ndepends_on = ["b"]\n[companions.b]\ncommand = "forever"\nstartsecs = 0\ndepends_on = ["a"]\n`);
    const r = await f.request({ cmd: "reread" });
    expect(r).toMatchObject({ ok: false, code: "INVALID_CONFIG", kept_old_config: true });
    expect(r.error).toMatch(/companions\.(a|b)\.depends_on/);
    expect(await f.pids()).toEqual(pids);
  });
});

describe("stop order: dependents first, unrelated ones in parallel", () => {
  // front -> web -> db, and solo on its own. front waits (on TERM) until solo has had its TERM:
  // "term-wait seen" proves solo was not held back behind the chain. front and web take a
  // moment to exit, so a stop signal sent to everything at once would reach db before web is
  // gone.
  const conf = (port: number) => `
[defaults]
startsecs = 0
stop_timeout = 20
[companions.db]
command = "ready-server tcp 0 ${port} --record db.rec"
ready = { tcp = ${port}, interval = 0.2 }
[companions.web]
command = "ready-server log 0 up --record web.rec --term-delay 0.5"
ready = { log = "^up$" }
depends_on = ["db"]
[companions.front]
command = "ready-server never 0 --record front.rec --term-wait solo.termed --term-delay 0.5"
depends_on = { web = "ready" }
[companions.solo]
command = "ready-server never 0 --record solo.rec --term-touch solo.termed"
`;

  const ways: Record<string, () => Promise<void>> = {
    "SIGTERM to sup run": async () => {
      f.signal("SIGTERM");
      expect(await f.waitExit(60_000)).toBe(0);
    },
    "sup ctl stop all": async () => {
      const r = await f.ctl("stop", "all");
      expect(r.code).toBe(0);
      for (const n of ["db", "web", "front", "solo"]) expect((await f.entry(n)).state).toBe("STOPPED");
    },
    "removal by reread": async () => {
      f.write(`[companions.keep]\ncommand = "forever"\nstartsecs = 0\n`);
      const r = await f.request({ cmd: "reread" });
      expect(r).toMatchObject({ ok: true, removed: ["db", "front", "solo", "web"], added: ["keep"] });
      await waitRecord(f, "db.rec", "exit", { timeoutMs: 60_000 });
      await f.waitState("keep", "RUNNING");
    },
  };

  for (const [how, stop] of Object.entries(ways)) {
    test(how, async () => {
      f = new SupFixture(conf(freePort()));
      await f.start();
      await f.allRunning(["db", "web", "front", "solo"]);
      // every trap is set (each fixture records "start" after installing it)
      for (const n of ["db", "web", "front", "solo"]) await waitRecord(f, `${n}.rec`, "start");

      await stop();

      for (const n of ["db", "web", "front", "solo"]) await waitRecord(f, `${n}.rec`, "exit", { timeoutMs: 60_000 });
      const t = (n: string, ev: string) => first(f, `${n}.rec`, ev).t;
      // each got exactly one stop signal
      for (const n of ["db", "web", "front", "solo"]) expect(records(f, `${n}.rec`).filter((r) => r.ev === "TERM").length).toBe(1);
      // solo was signalled while front was still stopping
      expect(first(f, "front.rec", "term-wait").detail).toBe("seen");
      // web only after front was gone, db only after web was gone
      expect(t("web", "TERM")).toBeGreaterThan(t("front", "exit"));
      expect(t("db", "TERM")).toBeGreaterThan(t("web", "exit"));
    });
  }
});
