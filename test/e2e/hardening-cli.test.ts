// The command line against hostile input: durations past what a timer can hold, names, env keys
// and commands the OS cannot take, `--` ending the flags, something other than a socket at the
// socket path, output into a slow pipe, and a duplicate companion name in the original's words.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { SUP, SupFixture } from "../helpers/sup.ts";

setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

/** `sup check` on `toml`: its exit code and the problem lines (without the header) */
async function check(toml: string): Promise<{ code: number; problems: string[]; stdout: string }> {
  f = new SupFixture(toml);
  const r = await f.sup(["check", "-c", f.config]);
  const problems = r.stderr
    .split("\n")
    .filter((l) => l.startsWith("  "))
    .map((l) => l.trim());
  return { code: r.code, problems, stdout: r.stdout };
}

describe("durations", () => {
  test("1e308 seconds, inf and nan are refused with the key path and line; 25 days is fine", async () => {
    for (const key of ["startsecs", "restart_delay", "max_restart_delay", "stop_timeout", "reload_timeout"]) {
      const r = await check(`[companions.web]\ncommand = "forever"\n${key} = 1e308\n`);
      expect({ key, code: r.code }).toEqual({ key, code: 2 });
      expect(r.problems).toEqual([`companions.web.${key}: must be at most 9007199254740 seconds (${f.config}:3)`]);
      await f.cleanup();
    }
    const g = await check(`[sup]\ngraceful_timeout = 1e308\n[defaults]\nrestart_delay = 1e300\n[companions.web]\ncommand = "forever"\n`);
    expect(g.code).toBe(2);
    expect(g.problems).toEqual([
      `sup.graceful_timeout: must be at most 9007199254740 seconds (${f.config}:2)`,
      `defaults.restart_delay: must be at most 9007199254740 seconds (${f.config}:4)`,
    ]);
    await f.cleanup();
    for (const [v, shown] of [["inf", "inf"], ["+inf", "inf"], ["-inf", "-inf"], ["nan", "nan"]]) {
      const r = await check(`[companions.web]\ncommand = "forever"\nrestart_delay = ${v}\n`);
      expect({ v, code: r.code, problems: r.problems }).toEqual({ v, code: 2, problems: [`companions.web.restart_delay: must be a finite number of seconds (not ${shown}) (${f.config}:3)`] });
      await f.cleanup();
    }
    const big = await check(`[companions.web]\ncommand = "forever"\nrestart_delay = 2200000\nmax_restart_delay = 3000000\nstop_timeout = 9007199254740\n`);
    expect(big.code).toBe(0);
  });
});

describe("validation holes", () => {
  test("names starting with - or ., bad env keys and values, empty programs and NUL: each with its key path and line", async () => {
    const toml = [
      `[defaults]`, // 1
      `env = { "" = "x", "A=B" = "y", "K\\u0000" = "z" }`, // 2
      `[companions."-web"]`, // 3
      `command = "forever"`, // 4
      `[companions.".hidden"]`, // 5
      `command = "forever"`, // 6
      `[companions.empty-program]`, // 7
      `command = [""]`, // 8
      `[companions.blank-program]`, // 9
      `command = ["   ", "x"]`, // 10
      `[companions.empty-array]`, // 11
      `command = []`, // 12
      `[companions.empty-string]`, // 13
      `command = ""`, // 14
      `[companions.nul-arg]`, // 15
      `command = ["forever", "a\\u0000b"]`, // 16
      `[companions.nul-value]`, // 17
      `command = "forever"`, // 18
      `env = { OK = "a\\u0000b" }`, // 19
      `[companions."ok.name_1"]`, // 20
      `command = "forever"`, // 21
    ].join("\n");
    const r = await check(toml + "\n");
    expect(r.code).toBe(2);
    const at = (line: number) => `(${f.config}:${line})`;
    expect(r.problems).toEqual([
      `defaults.env: an env key must not be empty ("") ${at(2)}`,
      `defaults.env: env key "A=B" must not contain "=" (the companion would see "A=B=…") ${at(2)}`,
      `defaults.env: env key "K\\u0000" must not contain a NUL byte ${at(2)}`,
      `companions.-web: invalid companion name "-web": use letters, digits, "-", "_" and ".", not starting with "-" or "." ${at(3)}`,
      `companions..hidden: invalid companion name ".hidden": use letters, digits, "-", "_" and ".", not starting with "-" or "." ${at(5)}`,
      `companions.empty-program.command: the program (its first element) must not be empty ${at(8)}`,
      `companions.blank-program.command: the program (its first element) must not be empty ${at(10)}`,
      `companions.empty-array.command: must not be empty ${at(12)}`,
      `companions.empty-string.command: must not be empty ${at(14)}`,
      `companions.nul-arg.command.1: must not contain a NUL byte ${at(16)}`,
      `companions.nul-value.env.OK: must not contain a NUL byte ${at(19)}`,
    ]);
  });
});

describe("-- ends the flags", () => {
  test("ctl stop -- --help stops a companion named --help (none here: refused), never prints usage", async () => {
    f = new SupFixture(`[defaults]\nstartsecs = 0\n[companions.web]\ncommand = "forever"\n`);
    await f.start();
    await f.waitState("web", "RUNNING");
    for (const args of [["stop", "--", "--help"], ["stop", "--", "-h"], ["--", "stop", "--help"]]) {
      const r = await f.ctl(...args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 1, stdout: "" });
      expect(r.stderr).toContain("unknown companion --help".replace("--help", args.at(-1)!));
      expect(r.stderr).not.toContain("usage");
    }
    // a flag before -- still works, a name after it is still a name
    const s = await f.ctl("status", "--json", "--", "web");
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).companions.map((c: { name: string }) => c.name)).toEqual(["web"]);
    expect((await f.entry("web")).state).toBe("RUNNING");
    // check / run take no names: --help after -- is an unexpected argument, not a help request
    for (const cmd of ["check", "run"]) {
      const r = await f.sup([cmd, "-c", f.config, "--", "--help"]);
      expect({ cmd, code: r.code }).toEqual({ cmd, code: 2 });
      expect(r.stderr).toContain("unexpected argument '--help'");
    }
  });
});

describe("something other than a socket at the socket path", () => {
  function paths(fx: SupFixture) {
    const file = fx.path("sup.toml");
    const dir = fx.mkdir("a-folder");
    const fifo = fx.path("a-fifo");
    Bun.spawnSync(["mkfifo", fifo]);
    const link = fx.path("a-link");
    symlinkSync(file, link);
    return { file, dir, fifo, link };
  }

  test("ctl -s names what is there, exits 3 at once (no retries), and leaves it alone", async () => {
    f = new SupFixture(`[companions.web]\ncommand = "forever"\n`);
    const p = paths(f);
    const want: [string, string][] = [
      [p.file, "not a socket but a regular file: did you mean -c?"],
      [p.dir, "not a socket but a folder"],
      [p.fifo, "not a socket but a FIFO"],
      [p.link, `not a socket but a symlink to ${p.file}`],
    ];
    for (const [path, msg] of want) {
      const r = await f.sup(["ctl", "-s", path, "status"]);
      expect({ path, code: r.code, stderr: r.stderr }).toEqual({ path, code: 3, stderr: `sup: cannot reach sup at ${path}: ${msg}\n` });
    }
    expect(lstatSync(p.fifo).isFIFO()).toBe(true);
    expect(readlinkSync(p.link)).toBe(p.file);
    // through the config: the same words, without the -c hint
    f.write(`[sup]\nsocket = "a-folder"\n[companions.web]\ncommand = "forever"\n`);
    const viaConfig = await f.ctl("status");
    expect(viaConfig.code).toBe(3);
    expect(viaConfig.stderr).toBe(`sup: cannot reach sup at ${p.dir}: not a socket but a folder\n`);
  });

  test("sup run refuses a symlink (never followed), a FIFO, a folder and a regular file, naming each", async () => {
    f = new SupFixture();
    const target = f.path("target.sock");
    const cases: [string, () => void, string][] = [
      ["a-link.sock", () => symlinkSync(target, f.path("a-link.sock")), `a symlink to ${target}`],
      ["a-fifo.sock", () => Bun.spawnSync(["mkfifo", f.path("a-fifo.sock")]), "a FIFO"],
      ["a-dir.sock", () => mkdirSync(f.path("a-dir.sock")), "a folder"],
      ["a-file.sock", () => writeFileSync(f.path("a-file.sock"), "precious\n"), "a regular file"],
    ];
    for (const [name, make, kind] of cases) {
      make();
      f.write(`[sup]\nsocket = "${name}"\n[companions.web]\ncommand = ["forever"]\n`);
      const r = await f.sup(["run", "-c", f.config]);
      expect({ name, code: r.code === 0 ? 0 : "non-zero" }).toEqual({ name, code: "non-zero" });
      expect(r.stderr).toContain(`${f.path(name)} is ${kind}, not a socket`);
      expect(f.census()).toEqual([]);
    }
    expect(readlinkSync(f.path("a-link.sock"))).toBe(target);
    expect(() => lstatSync(target)).toThrow(); // the link was not followed: nothing made at its target
    expect(lstatSync(f.path("a-fifo.sock")).isFIFO()).toBe(true);
    expect(lstatSync(f.path("a-dir.sock")).isDirectory()).toBe(true);
    expect(readFileSync(f.path("a-file.sock"), "utf8")).toBe("precious\n");
  });
});

describe("output into a slow pipe", () => {
  /** run `sup ARGS` with fd `fd` into a pipe whose reader sleeps before it reads; what it read, and sup's exit code */
  async function slowPipe(args: string[], fd: 1 | 2): Promise<{ read: string; code: number }> {
    const redirect = fd === 1 ? "2>/dev/null" : "2>&1 >/dev/null";
    const script = `{ "$@" ${redirect}; echo $? > "$SUP_EXIT_FILE"; } | { sleep 0.5; cat; }`;
    const exitFile = f.path("exit-code");
    const p = Bun.spawn(["sh", "-c", script, "sh", SUP, ...args], { cwd: f.dir, env: f.env({ SUP_EXIT_FILE: exitFile }), stdio: ["ignore", "pipe", "inherit"] });
    const [read] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    return { read, code: Number(readFileSync(exitFile, "utf8").trim()) };
  }

  test("status --json of 200 companions arrives whole (stdout)", async () => {
    const toml = Array.from({ length: 200 }, (_, i) => `[companions.companion-with-a-rather-long-name-${i}]\ncommand = ["sup-test-no-such-command-${i}"]\n`).join("");
    f = new SupFixture(toml);
    await f.start();
    await f.waitEntry("companion-with-a-rather-long-name-199", "to be FATAL", (e) => e.state === "FATAL");
    const { read, code } = await slowPipe(["ctl", "-c", f.config, "status", "--json"], 1);
    expect(code).toBe(4); // every one is FATAL: reachable, not as wanted
    expect(read.length).toBeGreaterThan(65_536);
    const j = JSON.parse(read);
    expect(j.companions).toHaveLength(200);
  });

  test("check with thousands of problems arrives whole (stderr)", async () => {
    const n = 2000;
    f = new SupFixture(Array.from({ length: n }, (_, i) => `[companions.c${i}]\ncommand = "forever"\nstop_sigal = "TERM"\n`).join(""));
    const { read, code } = await slowPipe(["check", "-c", f.config], 2);
    expect(code).toBe(2);
    expect(read.length).toBeGreaterThan(65_536);
    const lines = read.trimEnd().split("\n");
    expect(lines[0]).toBe(`${f.config}: ${n} problem(s):`);
    expect(lines).toHaveLength(n + 1);
    expect(lines.at(-1)).toContain(`companions.c${n - 1}.stop_sigal: unknown key`);
    // sup run refusing the same config: its message arrives whole too
    const run = await slowPipe(["run", "-c", f.config], 2);
    expect(run.code).toBe(2);
    const runLines = run.read.trimEnd().split("\n");
    expect(runLines).toHaveLength(n + 1);
    expect(runLines.at(-1)).toContain(`companions.c${n - 1}.stop_sigal: unknown key`);
  });
});

describe("duplicate companion name", () => {
  const DUP = `[companions.web]\ncommand = "forever"\n[companions.db]\ncommand = "forever"\n[companions.web]\ncommand = "forever"\n`;

  test("check and run say it in the original's words", async () => {
    f = new SupFixture(DUP);
    const c = await f.sup(["check", "-c", f.config]);
    expect(c.code).toBe(2);
    expect(c.stderr).toBe(`${f.config}: 1 problem(s):\n  duplicate companion name web\n`);
    const r = await f.sup(["run", "-c", f.config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("duplicate companion name web");
    expect(f.census()).toEqual([]);
  });

  test("a reread answers exactly `invalid config: duplicate companion name X` and keeps the old config", async () => {
    f = new SupFixture(`[defaults]\nstartsecs = 0\n[companions.web]\ncommand = "forever"\n`);
    await f.start();
    const web = await f.waitState("web", "RUNNING");
    f.write(`[companions]\nweb = { command = "forever" }\n[companions.web]\ncommand = "forever"\n`);
    const r = await f.request({ cmd: "reread" });
    expect(r).toMatchObject({ ok: false, error: "invalid config: duplicate companion name web", code: "INVALID_CONFIG", kept_old_config: true });
    expect((await f.entry("web")).pid).toBe(web.pid);
  });
});
