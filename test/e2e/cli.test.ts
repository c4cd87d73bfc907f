// The command line: `sup ctl` exit codes and output, `sup check`, `sup run` with a bad
// config, `sup version`.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runSup, SUP as SUP_PATH, SupFixture } from "../helpers/sup.ts";

// real processes on a slow shared machine: bun resets the default (5 s) for every file
setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

const VERSION = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;

const CONF = `
[defaults]
startsecs = 0
stop_timeout = 5
[companions.web]
command = "forever"
[companions.worker-with-a-long-name]
command = ["forever"]
[companions.broken]
command = ["sup-test-no-such-command"]
`;

describe("sup ctl", () => {
  test("exit codes: 0 ok, 1 refused (any name of several), 2 usage, 3 unreachable naming the socket, 4 not as wanted", async () => {
    f = new SupFixture(CONF);
    // 3: nothing is running yet
    const none = await f.ctl("status");
    expect(none.code).toBe(3);
    expect(none.stderr).toContain(f.socket);
    const other = f.path("elsewhere.sock");
    const viaS = await f.sup(["ctl", "-s", other, "status"]);
    expect(viaS.code).toBe(3);
    expect(viaS.stderr).toContain(other);

    await f.start();
    await f.waitState("web", "RUNNING");
    await f.waitState("worker-with-a-long-name", "RUNNING");
    await f.waitState("broken", "FATAL");
    // 4: reachable, but broken is FATAL; the running ones alone are as wanted
    expect((await f.ctl("status")).code).toBe(4);
    expect((await f.ctl("status", "web", "worker-with-a-long-name")).code).toBe(0);
    expect((await f.ctl("status", "broken")).code).toBe(4);
    const ok = await f.ctl("start", "web");
    expect(ok).toMatchObject({ code: 0, stdout: "web: already running\n" });

    const unknown = await f.ctl("start", "nope");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown companion nope");
    const mixed = await f.ctl("start", "web", "nope");
    expect(mixed.code).toBe(1);
    expect(mixed.stdout).toBe("web: already running\n");
    expect(mixed.stderr).toBe("nope: ERROR (unknown companion nope)\n");
    expect((await f.ctl("status", "nope")).code).toBe(1);

    const usage = [["status", "--bogus"], ["--bogus", "status"], ["-x", "status"], [], ["frobnicate"], ["start"], ["signal", "HUP"], ["start", "--timeout", "soon", "web"], ["start", "--timeout", "0", "web"], ["start", "--no-wait", "--timeout", "3", "web"], ["wait"], ["wait", "--for", "up", "web"], ["scale", "web"], ["reread", "x"], ["info", "--json=yes"], ["status", "-c"]];
    for (const args of usage) {
      const r = await f.ctl(...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).not.toBe("");
    }
    // a stale socket (nobody listening) is unreachable too
    f.signal("SIGTERM");
    expect(await f.waitExit()).toBe(0);
    const after = await f.ctl("status");
    expect(after.code).toBe(3);
    expect(after.stderr).toContain(f.socket);
  });

  test("status prints an aligned table with the contract's header, in config order, no colour when piped", async () => {
    f = new SupFixture(CONF);
    await f.start();
    const web = await f.waitState("web", "RUNNING");
    await f.waitState("worker-with-a-long-name", "RUNNING");
    await f.waitState("broken", "FATAL");
    const r = await f.ctl("status");
    expect(r.code).toBe(4); // broken is FATAL
    expect(r.stdout).not.toContain("\x1b[");
    const rows = r.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^NAME +STATE +PID +UPTIME +RESTARTS +LAST-EXIT +CPU +RSS +REASON$/);
    expect(rows.length).toBe(4);
    expect(rows.slice(1).map((l) => l.split(/ +/)[0])).toEqual(["web", "worker-with-a-long-name", "broken"]);
    // every column starts at the header's offset
    const cols = ["STATE", "PID", "UPTIME", "RESTARTS", "LAST-EXIT", "CPU", "RSS", "REASON"].map((h) => rows[0]!.indexOf(h));
    for (const row of rows.slice(1)) {
      for (const at of cols.slice(0, -1)) {
        expect(row[at - 1]).toBe(" ");
        expect(row[at]).not.toBe(" ");
      }
    }
    const webRow = rows[1]!;
    expect(webRow.slice(cols[0]!).startsWith("RUNNING")).toBe(true);
    expect(webRow.slice(cols[1]!).startsWith(String(web.pid))).toBe(true);
    // never exited: LAST-EXIT "-"; running: no reason (pid and uptime have their columns)
    expect(webRow.slice(cols[4]!)).toMatch(/^- /);
    expect(webRow.length).toBeLessThan(cols[7]!);
    // CPU and RSS of a running companion's tree; "-" for one that is not running
    expect(webRow.slice(cols[5]!)).toMatch(/^\d+\.\d%/);
    expect(webRow.slice(cols[6]!)).toMatch(/^\d+(\.\d)?[KMG]$/);
    expect(rows[3]!.slice(cols[4]!)).toMatch(/^- +- +- +command not found/);
    expect(rows[3]!.slice(cols[7]!)).toBe("command not found: sup-test-no-such-command");
    // names select rows; no row with a reason: no REASON column
    const two = await f.ctl("status", "web", "worker-with-a-long-name");
    expect(two.code).toBe(0);
    const twoRows = two.stdout.trimEnd().split("\n");
    expect(twoRows.length).toBe(3);
    expect(twoRows[0]).toMatch(/ RSS$/);
  });

  test("status --json prints the reply as parseable JSON", async () => {
    f = new SupFixture(CONF);
    await f.start();
    await f.waitState("web", "RUNNING");
    const r = await f.ctl("status", "--json");
    expect(r.code).toBe(4); // the same exit code as the table: broken is FATAL
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(true);
    expect(j.companions.map((c: { name: string }) => c.name)).toEqual(["web", "worker-with-a-long-name", "broken"]);
    expect(j.companions[0]).toMatchObject({ name: "web", state: "RUNNING" });
    const webOnly = await f.ctl("status", "--json", "web");
    expect(webOnly.code).toBe(0);
    const one = JSON.parse(webOnly.stdout);
    expect(one.companions.map((c: { name: string }) => c.name)).toEqual(["web"]);
  });

  test("stop all / start all / restart all wait for each outcome: one line per name, in config order", async () => {
    f = new SupFixture(CONF);
    await f.start();
    const web = await f.waitState("web", "RUNNING");
    await f.waitState("worker-with-a-long-name", "RUNNING");
    await f.waitState("broken", "FATAL");
    const stop = await f.ctl("stop", "all");
    expect(stop).toEqual({ code: 0, stdout: "web: stopped\nworker-with-a-long-name: stopped\nbroken: stopped\n", stderr: "" });
    // the reply came when it was done: no waiting here
    for (const e of await f.status()) expect({ name: e.name, state: e.state, pid: e.pid }).toEqual({ name: e.name, state: e.name === "broken" ? "FATAL" : "STOPPED", pid: null });
    const start = await f.ctl("start", "all");
    expect(start.code).toBe(1); // broken cannot be spawned
    expect(start.stdout).toBe("web: started\nworker-with-a-long-name: started\n");
    expect(start.stderr).toBe("broken: ERROR (command not found: sup-test-no-such-command)\n");
    const again = await f.entry("web");
    expect(again.state).toBe("RUNNING");
    expect(again.pid).not.toBe(web.pid);
    const restart = await f.ctl("restart", "all");
    expect(restart.code).toBe(1);
    expect(restart.stdout).toBe("web: restarted\nworker-with-a-long-name: restarted\n");
    expect(restart.stderr).toBe("broken: ERROR (command not found: sup-test-no-such-command)\n");
    const third = await f.entry("web");
    expect(third.state).toBe("RUNNING");
    expect(third.pid).not.toBe(again.pid);
  });

  test("stop all / start all / restart all --no-wait print the manager's replies at once", async () => {
    f = new SupFixture(CONF);
    await f.start();
    const web = await f.waitState("web", "RUNNING");
    await f.waitState("worker-with-a-long-name", "RUNNING");
    const stop = await f.ctl("stop", "--no-wait", "all");
    expect(stop.code).toBe(0);
    expect(stop.stdout).toBe("web stopping\nworker-with-a-long-name stopping\nbroken already stopped\n");
    for (const n of ["web", "worker-with-a-long-name", "broken"]) expect((await f.waitEntry(n, "to be down and manually stopped", (e) => e.pid === null && e.manual_stop)).state).not.toBe("RUNNING");
    expect((await f.entry("web")).state).toBe("STOPPED");
    const start = await f.ctl("start", "all", "--no-wait");
    expect(start.code).toBe(0);
    expect(start.stdout).toBe("web started\nworker-with-a-long-name started\nbroken started\n");
    const again = await f.waitState("web", "RUNNING");
    expect(again.pid).not.toBe(web.pid);
    await f.waitState("worker-with-a-long-name", "RUNNING");
    const restart = await f.ctl("restart", "--no-wait", "all");
    expect(restart.stdout).toBe("web restarting\nworker-with-a-long-name restarting\nbroken started\n");
    await f.waitEntry("web", "to run with a new pid", (e) => e.state === "RUNNING" && e.pid !== again.pid);
  });

  test("ctl finds the socket through $SUP_CONFIG and ./sup.toml", async () => {
    f = new SupFixture(CONF);
    await f.start();
    await f.waitState("web", "RUNNING");
    await f.waitState("broken", "FATAL");
    const viaEnv = await f.sup(["ctl", "status"], { cwd: "/", env: { SUP_CONFIG: f.config } });
    expect(viaEnv.code).toBe(4); // reached: broken is FATAL
    expect(viaEnv.stdout).toContain("web");
    const viaCwd = await f.sup(["ctl", "status"]);
    expect(viaCwd.code).toBe(4);
    expect(viaCwd.stdout).toContain("web");
  });
});

describe("sup check and sup run with a bad config", () => {
  const BROKEN = `
[defaults]
startsecs = 0
[companions.web]
command = "forever"
stop_sigal = "SIGTERM"
[companions.api]
command = "forever"
stop_signal = "SIGTRM"
restart = "sometimes"
startsecs = -1
[companions.nocommand]
cwd = "."
[companions."bad name"]
command = "forever"
`;

  test("check prints every problem with its key path and exits 2", async () => {
    f = new SupFixture(BROKEN);
    const r = await f.sup(["check", "-c", f.config]);
    expect(r.code).toBe(2);
    const out = r.stdout + r.stderr;
    expect(out).toContain("companions.web.stop_sigal");
    expect(out).toContain(`companions.api.stop_signal: unknown signal "SIGTRM"`);
    expect(out).toContain("companions.api.restart");
    expect(out).toContain("companions.api.startsecs");
    expect(out).toContain("companions.nocommand.command");
    expect(out).toContain("bad name");
  });

  test("check and run report the problems of [sup], [defaults] and the companions together", async () => {
    f = new SupFixture(`
[sup]
fail_fst = true
[defaults]
stop_signal = "SIGFOO"
[companions.web]
command = "forever"
stop_sigal = "SIGTERM"
[companions.api]
command = "forever"
stop_signal = "SIGTRM"
[companions.nocommand]
cwd = "."
`);
    for (const verb of ["check", "run"]) {
      const r = await f.sup([verb, "-c", f.config]);
      expect({ verb, code: r.code }).toEqual({ verb, code: 2 });
      const out = r.stdout + r.stderr;
      expect(out).toContain("sup.fail_fst");
      expect(out).toContain(`defaults.stop_signal: unknown signal "SIGFOO"`);
      expect(out).toContain("companions.web.stop_sigal");
      expect(out).toContain(`companions.api.stop_signal: unknown signal "SIGTRM"`);
      expect(out).toContain("companions.nocommand.command");
    }
    expect(f.census()).toEqual([]);
  });

  test("check on a good config exits 0; finds ./sup.toml and $SUP_CONFIG", async () => {
    // CONF's `broken` companion would be FATAL on this machine: check says so (exit 1)
    f = new SupFixture(CONF);
    const fatal = await f.sup(["check", "-c", f.config]);
    expect(fatal.code).toBe(1);
    expect(fatal.stderr).toContain("companions.broken.command: command not found: sup-test-no-such-command");
    f.write(CONF.slice(0, CONF.indexOf("[companions.broken]")));
    const r = await f.sup(["check", "-c", f.config]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect((await f.sup(["check"])).code).toBe(0);
    expect((await f.sup(["check"], { cwd: "/", env: { SUP_CONFIG: f.config } })).code).toBe(0);
    f.write(BROKEN, "broken.toml");
    expect((await f.sup(["check"], { env: { SUP_CONFIG: f.path("broken.toml") } })).code).toBe(2);
    expect((await f.sup(["check", "-c", f.path("missing.toml")])).code).toBe(2);
    expect((await f.sup(["check", "--bogus"])).code).toBe(2);
  });

  test("check: a bad value in a stop_signal, numbers and names validated against the real table", async () => {
    f = new SupFixture(`
[companions.a]
command = "forever"
stop_signal = 999
[companions.b]
command = "forever"
stop_signal = "SIGKILLME"
[companions.c]
command = "forever"
stop_signal = 15
[companions.d]
command = "forever"
stop_signal = "hup"
`);
    const r = await f.sup(["check", "-c", f.config]);
    expect(r.code).toBe(2);
    const out = r.stdout + r.stderr;
    expect(out).toContain("companions.a.stop_signal");
    expect(out).toContain(`companions.b.stop_signal: unknown signal "SIGKILLME"`);
    expect(out).not.toContain("companions.c.");
    expect(out).not.toContain("companions.d.");
  });

  test("run with an invalid config prints every problem, exits 2 and starts nothing", async () => {
    f = new SupFixture(BROKEN);
    const r = await f.sup(["run", "-c", f.config]);
    expect(r.code).toBe(2);
    const out = r.stdout + r.stderr;
    expect(out).toContain("companions.web.stop_sigal");
    expect(out).toContain(`companions.api.stop_signal: unknown signal "SIGTRM"`);
    expect(out).toContain("companions.nocommand.command");
    expect(f.census()).toEqual([]);
    expect(existsSync(f.socket)).toBe(false);
  });

  test("check: a top-level typo, a socket path too long for a Unix socket", async () => {
    f = new SupFixture(`
[companion.web]
command = "forever"
`);
    const typo = await f.sup(["check", "-c", f.config]);
    expect(typo.code).toBe(2);
    expect(typo.stdout + typo.stderr).toContain("companion");
    f.write(`
[sup]
socket = "/tmp/${"s".repeat(120)}.sock"
[companions.web]
command = "forever"
`);
    const long = await f.sup(["check", "-c", f.config]);
    expect(long.code).toBe(2);
    expect(long.stdout + long.stderr).toContain("sup.socket");
  });

  test("run with a missing config file exits 2 naming it", async () => {
    f = new SupFixture();
    const r = await f.sup(["run", "-c", f.path("missing.toml")]);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain(f.path("missing.toml"));
    expect(f.census()).toEqual([]);
  });

  test("run with an unknown flag is a usage error (2) and starts nothing", async () => {
    f = new SupFixture(CONF);
    const r = await f.sup(["run", "-c", f.config, "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--bogus");
    expect(f.census()).toEqual([]);
    expect(existsSync(f.socket)).toBe(false);
  });

  test("run with a TOML syntax error exits 2 and starts nothing", async () => {
    f = new SupFixture(`[companions.a\ncommand = "forever"\n`);
    const r = await f.sup(["run", "-c", f.config]);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain(f.config);
    expect(f.census()).toEqual([]);
    expect(existsSync(f.socket)).toBe(false);
  });
});

test("sup --version and sup version print the version", async () => {
  for (const args of [["--version"], ["version"]]) {
    const r = await runSup(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(VERSION);
  }
});

test("status colours the state only on a TTY, and never with NO_COLOR", async () => {
  f = new SupFixture(CONF);
  await f.start();
  await f.waitState("web", "RUNNING");
  await f.waitState("broken", "FATAL");
  const base = f.env();
  delete base.NO_COLOR;
  // `script` gives the command a pseudo-terminal
  const onTty = (env: Record<string, string>) => Bun.spawn(["script", "-qec", `${SUP_PATH} ctl -c ${f.config} status`, "/dev/null"], { env, stdio: ["ignore", "pipe", "pipe"] });
  const tty = await onTty(base);
  const ttyOut = await new Response(tty.stdout).text();
  expect(await tty.exited).toBe(4); // broken is FATAL
  expect(ttyOut).toContain("NAME");
  expect(ttyOut).toContain("\x1b[");
  const plain = await onTty({ ...base, NO_COLOR: "1" });
  const plainOut = await new Response(plain.stdout).text();
  expect(await plain.exited).toBe(4);
  expect(plainOut).toContain("NAME");
  expect(plainOut).not.toContain("\x1b[");
  const piped = await runSup(["ctl", "-c", f.config, "status"], { env: base, cwd: f.dir });
  expect(piped.code).toBe(4);
  expect(piped.stdout).not.toContain("\x1b[");
});

test("ctl exits 3 naming the socket when the peer refuses or never answers", async () => {
  f = new SupFixture(CONF);
  // refused: a socket file nobody listens on (its owner was SIGKILLed)
  const stale = f.path("stale.sock");
  const holder = Bun.spawn([process.execPath, "-e", `Bun.listen({ unix: ${JSON.stringify(stale)}, socket: { data() {} } }); console.log("bound"); setInterval(() => {}, 1000);`], {
    env: f.env(),
    stdio: ["ignore", "pipe", "inherit"],
  });
  const { value } = await holder.stdout.getReader().read();
  expect(new TextDecoder().decode(value)).toContain("bound");
  holder.kill("SIGKILL");
  await holder.exited;
  const refused = await f.sup(["ctl", "-s", stale, "status"]);
  expect(refused.code).toBe(3);
  expect(refused.stderr).toContain(stale);

  // silent: accepts the connection, never replies
  const silent = f.path("silent.sock");
  const listener = Bun.listen({ unix: silent, socket: { data() {} } });
  try {
    const t0 = performance.now();
    const r = await f.sup(["ctl", "-s", silent, "status"], { env: { SUP_CTL_TIMEOUT_MS: "1000" } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(silent);
    expect(performance.now() - t0).toBeLessThan(15_000);
  } finally {
    listener.stop(true);
  }
});
