// Config validation and loading (contract §3): messages with key paths and lines, defaults,
// paths, the reread hash, string commands, the socket path limit, and loadConfig on real files.
import { afterEach, describe as group, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { parseSignal, signalName, signalNumber } from "../../src/config/signals.ts";
import { duplicateCompanions, gracefulBudgetMs, MAX_SOCKET_PATH, shellArgv, validateConfig, type ConfigResult, type SystemView } from "../../src/config/validate.ts";
import { parseSize, type CompanionSpec, type SupConfig } from "../../src/config/schema.ts";
import { parseGroup, parsePasswd } from "../../src/os/users.ts";

const FILE = "/srv/app/sup.toml";

function problems(r: ConfigResult): string[] {
  if (r.ok) throw new Error("want problems, got a valid config");
  return r.problems;
}
function valid(r: ConfigResult): SupConfig {
  if (!r.ok) throw new Error(`want a valid config, got:\n${r.problems.join("\n")}`);
  return r.config;
}
function one(companion: Record<string, unknown>, top: Record<string, unknown> = {}): CompanionSpec {
  const c = valid(validateConfig({ ...top, companions: { web: companion } }, FILE)).companions[0];
  if (!c) throw new Error("no companion");
  return c;
}
/** validate TOML text as loadConfig does, with line numbers */
function fromText(text: string, file = FILE): ConfigResult {
  return validateConfig(Bun.TOML.parse(text), file, text);
}

group("problems", () => {
  test("an unknown key names its path and suggests the close one", () => {
    expect(problems(validateConfig({ companions: { web: { command: "x", stop_sigal: "SIGTERM" } } }, FILE))).toEqual([
      'companions.web.stop_sigal: unknown key (did you mean "stop_signal"?)',
    ]);
    expect(problems(validateConfig({ companions: { web: { command: "x", zzzzzzzz: 1 } } }, FILE))).toEqual(["companions.web.zzzzzzzz: unknown key"]);
    expect(problems(validateConfig({ supp: {} }, FILE))).toEqual(["supp: unknown table (did you mean [sup]?)"]);
    expect(problems(validateConfig({ defaults: { command: "x" } }, FILE))).toEqual(["defaults.command: belongs in [companions.NAME] ([defaults] takes every companion key but command)"]);
  });

  test("a key in the wrong table says where it belongs; a near miss of another table's key says so too", () => {
    const p = (raw: Record<string, unknown>) => problems(validateConfig(raw, FILE));
    expect(p({ companions: { web: { command: "x", graceful_timeout: 5 } } })).toEqual(["companions.web.graceful_timeout: belongs in [sup]"]);
    expect(p({ defaults: { socket: "s.sock" } })).toEqual(["defaults.socket: belongs in [sup]"]);
    expect(p({ sup: { startsecs: 1 } })).toEqual(["sup.startsecs: belongs in [defaults] or [companions.NAME]"]);
    expect(p({ sup: { command: "x" } })).toEqual(["sup.command: belongs in [companions.NAME]"]);
    expect(p({ startsecs: 1 })).toEqual(["startsecs: belongs in [defaults] or [companions.NAME]"]);
    expect(p({ fail_fast: true })).toEqual(["fail_fast: belongs in [sup]"]);
    expect(p({ companions: { web: { command: "x", gracefull_timeout: 5 } } })).toEqual([
      'companions.web.gracefull_timeout: unknown key (did you mean "graceful_timeout"? it belongs in [sup])',
    ]);
    expect(p({ sup: { fail_fst: true } })).toEqual(['sup.fail_fst: unknown key (did you mean "fail_fast"?)']);
  });

  test("a misspelt top-level table gets a did-you-mean and hides no problem of the other tables", () => {
    const text = ["[supp]", 'socket = "s"', "[companion.web]", 'command = "x"', "[companions.api]", 'command = "y"', 'stop_signal = "SIGTRM"', "[whatever]", "a = 1"].join("\n");
    expect(problems(fromText(text))).toEqual([
      `supp: unknown table (did you mean [sup]?) (${FILE}:1)`,
      `companion: unknown table (did you mean [companions.web]?) (${FILE}:3)`,
      `companions.api.stop_signal: unknown signal "SIGTRM" (${FILE}:7)`,
      `whatever: unknown table: the tables are [sup], [defaults] and [companions.NAME] (${FILE}:8)`,
    ]);
  });

  test("problems come sorted by line, whatever table they are in", () => {
    const text = ["[companions.web]", 'command = "x"', "stop_sigal = 1", "[sup]", "fail_fst = true", "[defaults]", 'restart = "x"'].join("\n");
    expect(problems(fromText(text)).map((q) => q.replace(/ \(did.*| must.*/, ""))).toEqual([
      `companions.web.stop_sigal: unknown key`,
      `sup.fail_fst: unknown key`,
      `defaults.restart:`,
    ]);
  });

  test("user / group problems alone are the machine's: the result carries the config (sup check: exit 1)", () => {
    const system: SystemView = { uid: 1000, accounts: () => ({ users: [], groups: [] }) };
    const r = validateConfig({ companions: { web: { command: "x", user: "nobody" }, api: { command: "y" } } }, FILE, undefined, system);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual(["companions.web.user: sup runs as uid 1000, not root: it cannot run companions as another user"]);
    expect(r.machineOnly?.companions.map((c) => c.name)).toEqual(["web", "api"]);
    // with a problem of the file's own, there is no config to hand out
    const bad = validateConfig({ companions: { web: { command: "x", user: "nobody", restart: "x" } } }, FILE, undefined, system);
    expect(bad.ok || bad.machineOnly).toBe(undefined);
  });

  test("an unknown signal, in every spelling the table does not know", () => {
    expect(problems(validateConfig({ companions: { web: { command: "x", stop_signal: "SIGTRM" } } }, FILE))).toEqual([
      'companions.web.stop_signal: unknown signal "SIGTRM"',
    ]);
    expect(problems(validateConfig({ companions: { web: { command: "x", stop_signal: 999 } } }, FILE))).toEqual(["companions.web.stop_signal: unknown signal 999"]);
    expect(problems(validateConfig({ defaults: { stop_signal: "NOPE" } }, FILE))).toEqual(['defaults.stop_signal: unknown signal "NOPE"']);
  });

  test("signals: a name, a name without SIG, lower case or a number all resolve to the canonical name", () => {
    expect(one({ command: "x", stop_signal: "TERM" }).stopSignal).toBe("SIGTERM");
    expect(one({ command: "x", stop_signal: "sigint" }).stopSignal).toBe("SIGINT");
    expect(one({ command: "x", stop_signal: 9 }).stopSignal).toBe("SIGKILL");
    expect(one({ command: "x", stop_signal: "15" }).stopSignal).toBe("SIGTERM");
    expect(one({ command: "x" }).stopSignal).toBe("SIGTERM");
    expect(parseSignal("SIGIOT")).toBe("SIGABRT");
    expect(parseSignal("")).toBeUndefined();
    expect(signalNumber("SIGKILL")).toBe(9);
    expect(signalName(15)).toBe("SIGTERM");
    expect(() => signalNumber("SIGNOPE")).toThrow();
  });

  test("wrong types, each with its own message", () => {
    const p = problems(
      validateConfig(
        {
          sup: { fail_fast: "yes", graceful_timeout: 0 },
        },
        FILE,
      ),
    );
    expect(p).toContain("sup.fail_fast: must be true or false");
    expect(p).toContain("sup.graceful_timeout: must be > 0 seconds");
    const c = problems(
      validateConfig(
        {
          companions: {
            web: {
              command: 5,
              startsecs: "5",
              stop_timeout: -1,
              restart: "sometimes",
              backoff: "linear",
              essential: "true",
              env: { PORT: [1] },
              cwd: 3,
            },
          },
        },
        FILE,
      ),
    );
    expect(c).toEqual(
      expect.arrayContaining([
        "companions.web.command: must be a string (run with /bin/sh -c) or an array of strings (argv)",
        "companions.web.startsecs: must be a number of seconds",
        "companions.web.stop_timeout: must be >= 0",
        'companions.web.restart: must be "always", "on-failure" or "never"',
        'companions.web.backoff: must be "fixed" or "exponential"',
        "companions.web.essential: must be true or false",
        "companions.web.env.PORT: env values must be strings",
        "companions.web.cwd: must be a folder path",
      ]),
    );
    expect(c.length).toBe(8);
  });

  test("a missing or empty command", () => {
    expect(problems(validateConfig({ companions: { web: { startsecs: 1 } } }, FILE))).toEqual(["companions.web.command: is required"]);
    const cmd = (command: unknown) => problems(validateConfig({ companions: { web: { command } } }, FILE));
    expect(cmd("   ")).toEqual(["companions.web.command: must not be empty"]);
    expect(cmd("")).toEqual(["companions.web.command: must not be empty"]);
    expect(cmd([])).toEqual(["companions.web.command: must not be empty"]);
    for (const argv of [[""], ["", "x"], ["  ", "x"], ["\t"]]) {
      expect(cmd(argv)).toEqual(["companions.web.command: the program (its first element) must not be empty"]);
    }
    // an empty argument after the program is a real argument
    expect(one({ command: ["prog", ""] }).argv).toEqual(["prog", ""]);
    expect(one({ command: "  prog  a " }).command).toBe("prog  a");
  });

  test("NUL anywhere in a command, an env value or a path is refused (the OS cannot pass it)", () => {
    const p = (c: Record<string, unknown>, top: Record<string, unknown> = {}) => problems(validateConfig({ ...top, companions: { web: { command: "x", ...c } } }, FILE));
    expect(p({ command: "a\0b" })).toEqual(["companions.web.command: must not contain a NUL byte"]);
    expect(p({ command: ["a", "b", "c\0"] })).toEqual(["companions.web.command.2: must not contain a NUL byte"]);
    expect(p({ command: ["a\0"] })).toEqual(["companions.web.command.0: must not contain a NUL byte"]);
    expect(p({ env: { A: "x\0y" } })).toEqual(["companions.web.env.A: must not contain a NUL byte"]);
    expect(p({}, { defaults: { env: { A: "x\0" } } })).toEqual(["defaults.env.A: must not contain a NUL byte"]);
    expect(p({ cwd: "a\0" })).toEqual(["companions.web.cwd: must not contain a NUL byte"]);
    expect(p({ stdout: "o\0.log", stderr: "e\0.log" })).toEqual(["companions.web.stdout: must not contain a NUL byte", "companions.web.stderr: must not contain a NUL byte"]);
    expect(p({}, { sup: { socket: "s\0.sock" } })).toEqual(["sup.socket: must not contain a NUL byte"]);
  });

  test("env keys: not empty, no = and no NUL, in [defaults].env and a companion's env", () => {
    for (const where of ["defaults", "companion"] as const) {
      const p = (env: Record<string, unknown>) =>
        problems(validateConfig(where === "defaults" ? { defaults: { env }, companions: { web: { command: "x" } } } : { companions: { web: { command: "x", env } } }, FILE));
      const at = where === "defaults" ? "defaults.env" : "companions.web.env";
      expect(p({ "": "x" })).toEqual([`${at}: an env key must not be empty ("")`]);
      expect(p({ "A=B": "x" })).toEqual([`${at}: env key "A=B" must not contain "=" (the companion would see "A=B=…")`]);
      expect(p({ "=": "x" })).toEqual([`${at}: env key "=" must not contain "=" (the companion would see "==…")`]);
      expect(p({ "A\0": "x" })).toEqual([`${at}: env key "A\\u0000" must not contain a NUL byte`]);
      expect(p({ "": "x", "A=B": "y", OK: "z" })).toHaveLength(2);
    }
    expect(one({ command: "x", env: { "A-B.c d": "1", _: "2" } }).env).toEqual({ "A-B.c d": "1", _: "2" });
  });

  test("durations must be finite and fit whole ms in a safe integer", () => {
    const keys = ["startsecs", "restart_delay", "max_restart_delay", "stop_timeout", "reload_timeout"];
    for (const key of keys) {
      expect(problems(validateConfig({ companions: { web: { command: "x", [key]: 1e308 } } }, FILE))).toEqual([`companions.web.${key}: must be at most 9007199254740 seconds`]);
      expect(problems(validateConfig({ defaults: { [key]: 9007199254741 } }, FILE))).toEqual([`defaults.${key}: must be at most 9007199254740 seconds`]);
      expect(problems(validateConfig({ companions: { web: { command: "x", [key]: Infinity } } }, FILE))).toEqual([`companions.web.${key}: must be a finite number of seconds (not inf)`]);
      expect(problems(validateConfig({ companions: { web: { command: "x", [key]: -Infinity } } }, FILE))).toEqual([`companions.web.${key}: must be a finite number of seconds (not -inf)`]);
      expect(problems(validateConfig({ companions: { web: { command: "x", [key]: NaN } } }, FILE))).toEqual([`companions.web.${key}: must be a finite number of seconds (not nan)`]);
    }
    expect(problems(validateConfig({ sup: { graceful_timeout: 1e308 } }, FILE))).toEqual(["sup.graceful_timeout: must be at most 9007199254740 seconds"]);
    expect(problems(validateConfig({ sup: { graceful_timeout: NaN } }, FILE))).toEqual(["sup.graceful_timeout: must be a finite number of seconds (not nan)"]);
    // TOML inf / nan, with the line
    for (const v of ["inf", "+inf", "-inf", "nan", "+nan", "-nan"]) {
      const p = problems(fromText(`[companions.web]\ncommand = "x"\nstop_timeout = ${v}\n`));
      expect(p).toHaveLength(1);
      expect(p[0]).toMatch(/^companions\.web\.stop_timeout: must be a finite number of seconds \(not -?(inf|nan)\) \(\/srv\/app\/sup\.toml:3\)$/);
    }
    // huge but representable stays valid: 25 days, 3e6 s, the very largest
    const s = one({ command: "x", restart_delay: 2_200_000, max_restart_delay: 3_000_000, stop_timeout: 9007199254740, reload_timeout: 9007199254739.5 });
    expect(s).toMatchObject({ restartDelayMs: 2_200_000_000, maxRestartDelayMs: 3_000_000_000, stopTimeoutMs: 9007199254740000 });
    for (const v of [s.restartDelayMs, s.maxRestartDelayMs, s.stopTimeoutMs, s.reloadTimeoutMs]) expect(Number.isSafeInteger(v)).toBe(true);
    const cfg = valid(validateConfig({ companions: { web: { command: "x", stop_timeout: 9007199254740 } } }, FILE));
    expect(Number.isSafeInteger(gracefulBudgetMs(cfg))).toBe(true);
  });

  test("every problem of every companion is reported at once", () => {
    const p = problems(
      validateConfig(
        {
          companions: {
            web: { command: "x", stop_signal: "SIGTRM", stop_sigal: "TERM" },
            worker: { command: "y", startsecs: "soon" },
            "bad name": { command: "z" },
            db: {},
          },
        },
        FILE,
      ),
    );
    expect(p.sort()).toEqual(
      [
        'companions.web.stop_signal: unknown signal "SIGTRM"',
        'companions.web.stop_sigal: unknown key (did you mean "stop_signal"?)',
        "companions.worker.startsecs: must be a number of seconds",
        'companions.bad name: invalid companion name "bad name": use letters, digits, "-", "_" and ".", not starting with "-" or "."',
        "companions.db.command: is required",
      ].sort(),
    );
  });

  test("companion names: letters, digits, - _ . only, not starting with - or .; `all` is reserved", () => {
    for (const ok of ["web", "Web-2", "a_b", "x.y", "9", "_x", "a-", "a."]) {
      expect(valid(validateConfig({ companions: { [ok]: { command: "x" } } }, FILE)).companions.map((c) => c.name)).toEqual([ok]);
    }
    for (const bad of ["a b", "a/b", "ü", "a:b", "", "-web", "--help", ".hidden", ".", ".."]) {
      expect(problems(validateConfig({ companions: { [bad]: { command: "x" } } }, FILE))).toEqual([
        `companions.${bad}: invalid companion name ${JSON.stringify(bad)}: use letters, digits, "-", "_" and ".", not starting with "-" or "."`,
      ]);
    }
    expect(problems(validateConfig({ companions: { all: { command: "x" } } }, FILE))[0]).toStartWith('companions.all: the name "all" is reserved');
  });

  test("with the source text, each problem carries file:line", () => {
    const text = [
      "[sup]", // 1
      'socket = "s.sock"', // 2
      "", // 3
      "[companions.web]", // 4
      'command = "x"', // 5
      'stop_sigal = "TERM"', // 6
      'stop_signal = "SIGTRM"', // 7
      "", // 8
      "[companions.worker]", // 9
      'command = "y"', // 10
      'startsecs = "soon"', // 11
      "", // 12
      "[companions]", // 13
      'inline = { command = "z", restart = "maybe" }', // 14
    ].join("\n");
    expect(problems(fromText(text)).sort()).toEqual(
      [
        `companions.web.stop_sigal: unknown key (did you mean "stop_signal"?) (${FILE}:6)`,
        `companions.web.stop_signal: unknown signal "SIGTRM" (${FILE}:7)`,
        `companions.worker.startsecs: must be a number of seconds (${FILE}:11)`,
        `companions.inline.restart: must be "always", "on-failure" or "never" (${FILE}:14)`,
      ].sort(),
    );
  });

  test("line numbers for [sup], [defaults], a sub-table and CRLF text", () => {
    const text = ['[defaults]', 'stop_timeout = "x"', "", "[companions.web]", 'command = "x"', "[companions.web.env]", "A = [1]", ""].join("\r\n");
    // a bad [defaults] hides no companion problem: both are reported
    expect(problems(fromText(text))).toEqual([
      `defaults.stop_timeout: must be a number of seconds (${FILE}:2)`,
      `companions.web.env.A: env values must be strings (${FILE}:7)`,
    ]);
    const sub = ["[companions.web]", 'command = "x"', "", "[companions.web.env]", "A = [1]", ""].join("\r\n");
    expect(problems(fromText(sub))).toEqual([`companions.web.env.A: env values must be strings (${FILE}:5)`]);
    expect(problems(fromText(['[sup]', "fail_fast = 1"].join("\n")))).toEqual([`sup.fail_fast: must be true or false (${FILE}:2)`]);
  });

  test("the socket path must fit a Unix socket address (107 bytes)", () => {
    expect(MAX_SOCKET_PATH).toBe(107);
    // "/<dir>/sup.sock": 1 + n + 9 bytes
    const at107 = `/${"d".repeat(97)}/sup.toml`;
    const at108 = `/${"d".repeat(98)}/sup.toml`;
    expect(valid(validateConfig({}, at107)).socket.length).toBe(107);
    const p = problems(validateConfig({}, at108));
    expect(p).toHaveLength(1);
    expect(p[0]).toStartWith("sup.socket: socket path is 108 bytes, more than the 107 a Unix socket allows: /ddd");
    // bytes, not characters
    expect(problems(validateConfig({ sup: { socket: `/tmp/${"é".repeat(52)}` } }, FILE))[0]).toStartWith("sup.socket: socket path is 109 bytes");
    expect(valid(validateConfig({ sup: { socket: `/tmp/${"é".repeat(51)}` } }, FILE)).socket).toBe(`/tmp/${"é".repeat(51)}`);
  });

  test("the top level must be a table; companions must be a table of tables", () => {
    expect(problems(validateConfig({ companions: 5 }, FILE))).toEqual(["companions: must be a table of [companions.NAME] tables"]);
    expect(problems(validateConfig({ companions: { web: 5 } }, FILE))[0]).toStartWith("companions.web: ");
  });
});

group("a valid config", () => {
  test("built-in defaults, in ms, paths absolute", () => {
    const cfg = valid(validateConfig({ companions: { web: { command: "prog" } } }, FILE));
    expect(cfg).toMatchObject({ file: FILE, dir: "/srv/app", socket: "/srv/app/sup.sock", gracefulTimeoutMs: null, failFast: false });
    const { hash, policyHash, ...spec } = cfg.companions[0]!;
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(policyHash).toMatch(/^[0-9a-f]{16}$/);
    expect(spec).toEqual({
      name: "web",
      command: "prog",
      argv: ["prog"],
      startsecsMs: 1000,
      restart: "always",
      restartDelayMs: 1000,
      backoff: "exponential",
      maxRestartDelayMs: 30_000,
      stopSignal: "SIGTERM",
      stopTimeoutMs: 10_000,
      reloadTimeoutMs: 10_000,
      autostart: true,
      ready: null,
      health: null,
      dependsOn: [],
      base: "web",
      instance: null,
      stdout: { kind: "capture" },
      stderr: { kind: "capture" },
      cwd: "/srv/app",
      env: {},
      essential: false,
      successExitCodes: [0],
      maxRestarts: 0,
      user: null,
      group: null,
      umask: null,
      nice: null,
      limits: {},
      maxMemoryBytes: null,
      log: { console: true, file: null, maxBytes: 50_000_000, backups: 10, timestamps: false, format: "text" },
    });
  });

  test("[sup] settings", () => {
    const cfg = valid(validateConfig({ sup: { socket: "run/s.sock", graceful_timeout: 2.5, fail_fast: true } }, FILE));
    expect(cfg).toMatchObject({ socket: "/srv/app/run/s.sock", gracefulTimeoutMs: 2500, failFast: true, companions: [] });
    expect(valid(validateConfig({ sup: { socket: "/abs/x.sock" } }, FILE)).socket).toBe("/abs/x.sock");
  });

  test("[defaults] apply where a companion does not set the key; the companion wins", () => {
    const cfg = valid(
      validateConfig(
        {
          defaults: { startsecs: 3, restart: "never", stop_signal: "INT", essential: true, stdout: "null" },
          companions: { a: { command: "x" }, b: { command: "y", startsecs: 0, restart: "on-failure", stop_signal: "HUP", essential: false } },
        },
        FILE,
      ),
    );
    const [a, b] = cfg.companions;
    expect(a).toMatchObject({ startsecsMs: 3000, restart: "never", stopSignal: "SIGINT", essential: true, stdout: { kind: "null" } });
    expect(b).toMatchObject({ startsecsMs: 0, restart: "on-failure", stopSignal: "SIGHUP", essential: false, stdout: { kind: "null" } });
  });

  test("env merges defaults.env < companion env, values as strings", () => {
    const cfg = valid(
      validateConfig(
        {
          defaults: { env: { A: "d", B: "d", N: 1 } },
          companions: { a: { command: "x", env: { B: "c", C: true } }, b: { command: "y", env: {} }, c: { command: "z" } },
        },
        FILE,
      ),
    );
    expect(cfg.companions.map((c) => c.env)).toEqual([
      { A: "d", B: "c", N: "1", C: "true" },
      { A: "d", B: "d", N: "1" },
      { A: "d", B: "d", N: "1" },
    ]);
  });

  test("relative cwd, stdout, stderr and socket resolve against the config folder, not the companion's cwd", () => {
    const s = one({ command: "x", cwd: "app", stdout: "logs/out.log", stderr: "../err.log" }, { sup: { socket: "run/sup.sock" } });
    expect(s.cwd).toBe("/srv/app/app");
    expect(s.stdout).toEqual({ kind: "file", path: "/srv/app/logs/out.log" });
    expect(s.stderr).toEqual({ kind: "file", path: "/srv/err.log" });
    const abs = one({ command: "x", cwd: "/opt", stdout: "/var/log/o.log" });
    expect(abs.cwd).toBe("/opt");
    expect(abs.stdout).toEqual({ kind: "file", path: "/var/log/o.log" });
    const cfg = valid(validateConfig({ sup: { socket: "run/sup.sock" } }, "relative/dir/sup.toml"));
    expect(cfg.socket).toBe(join(process.cwd(), "relative/dir/run/sup.sock"));
  });

  test('stdout/stderr: "inherit", "null", stderr = "stdout", and one file for both', () => {
    expect(one({ command: "x", stdout: "null", stderr: "stdout" })).toMatchObject({ stdout: { kind: "null" }, stderr: { kind: "stdout" } });
    expect(one({ command: "x", stdout: "inherit", stderr: "null" })).toMatchObject({ stdout: { kind: "inherit" }, stderr: { kind: "null" } });
    expect(one({ command: "x", stdout: "o.log", stderr: "stdout" })).toMatchObject({ stdout: { kind: "file", path: "/srv/app/o.log" }, stderr: { kind: "stdout" } });
    expect(one({ command: "x", stdout: "o.log", stderr: "./o.log" }).stderr).toEqual({ kind: "stdout" });
  });

  test("fractional seconds become whole ms", () => {
    const s = one({ command: "x", startsecs: 0.5, restart_delay: 0.25, max_restart_delay: 1.5, stop_timeout: 0.001, reload_timeout: 0 });
    expect(s).toMatchObject({ startsecsMs: 500, restartDelayMs: 250, maxRestartDelayMs: 1500, stopTimeoutMs: 1, reloadTimeoutMs: 0 });
  });

  test("companions keep file order (the start order), numeric-looking names too", () => {
    const text = ["[companions.web]", 'command = "a"', "[companions.10]", 'command = "b"', "[companions.9]", 'command = "c"', "[companions.alpha]", 'command = "d"'].join("\n");
    expect(valid(fromText(text)).companions.map((c) => c.name)).toEqual(["web", "10", "9", "alpha"]);
    // a name with a dot keeps its place too
    const dotted = ['[companions."b.x"]', 'command = "a"', "[companions.a]", 'command = "b"', "[companions]", '"c.y" = { command = "c" }'].join("\n");
    expect(valid(fromText(dotted)).companions.map((c) => c.name)).toEqual(["b.x", "a", "c.y"]);
  });

  test("gracefulBudgetMs: graceful_timeout, else slowest stop/reload timeout + 5 s", () => {
    expect(gracefulBudgetMs(valid(validateConfig({ sup: { graceful_timeout: 3 } }, FILE)))).toBe(3000);
    const cfg = valid(validateConfig({ companions: { a: { command: "x", stop_timeout: 2, reload_timeout: 1 }, b: { command: "y", stop_timeout: 7, reload_timeout: 1 } } }, FILE));
    expect(gracefulBudgetMs(cfg)).toBe(12_000);
    expect(gracefulBudgetMs(valid(validateConfig({}, FILE)))).toBe(5000);
  });
});

group("crash-loop policy keys (§3, §4)", () => {
  test("success_exit_codes and max_restarts: values and defaults", () => {
    expect(one({ command: "x", success_exit_codes: [3, 0, 3] })).toMatchObject({ successExitCodes: [0, 3] });
    expect(one({ command: "x", success_exit_codes: [] }).successExitCodes).toEqual([]);
    expect(one({ command: "x", max_restarts: 3 }).maxRestarts).toBe(3);
    expect(one({ command: "x" }, { defaults: { max_restarts: 2, success_exit_codes: [1] } })).toMatchObject({ maxRestarts: 2, successExitCodes: [1] });
  });

  test("bad success_exit_codes and max_restarts", () => {
    const p = (c: Record<string, unknown>) => problems(validateConfig({ companions: { web: { command: "x", ...c } } }, FILE));
    for (const v of [0, "0", [256], [-1], [1.5], ["0"]]) {
      expect(p({ success_exit_codes: v })).toEqual([expect.stringMatching(/^companions\.web\.success_exit_codes(\.0)?: must be a list of exit codes \(whole numbers 0-255\), e\.g\. \[0, 2\]$/)]);
    }
    for (const v of [-1, 1.5, "3", true]) {
      expect(p({ max_restarts: v })).toEqual(["companions.web.max_restarts: must be a whole number >= 0 (0 = never give up)"]);
    }
  });
});

/** the machine as validation sees it: root or not, and a small account database */
const ACCOUNTS = {
  users: parsePasswd("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\napp:x:1001:1001::/home/app:/bin/sh\n"),
  groups: parseGroup("root:x:0:\nnogroup:x:65534:\napp:x:1001:\nssl-cert:x:103:app,other\n"),
};
const asRoot: SystemView = { uid: 0, accounts: () => ACCOUNTS };
const asUser: SystemView = { uid: 1000, accounts: () => ACCOUNTS };

group("user, group, umask, nice, limits, max_memory (§10)", () => {
  const p = (c: Record<string, unknown>, top: Record<string, unknown> = {}, system?: SystemView) =>
    problems(validateConfig({ ...top, companions: { web: { command: "x", ...c } } }, FILE, undefined, system));

  test("valid values as the spec keeps them", () => {
    const s = one({ command: "x", user: "app", group: 0, umask: "027", nice: -20, max_memory: "512MB" });
    expect(s).toMatchObject({ user: "app", group: 0, umask: 0o27, nice: -20, maxMemoryBytes: 512_000_000 });
    expect(one({ command: "x", umask: "0077" }).umask).toBe(0o77);
    expect(one({ command: "x", umask: "0" }).umask).toBe(0);
    expect(one({ command: "x", umask: 0o22 }).umask).toBe(0o22); // TOML umask = 0o022
    expect(one({ command: "x", nice: 19 }).nice).toBe(19);
    expect(one({ command: "x", max_memory: "1GiB" }).maxMemoryBytes).toBe(2 ** 30);
    expect(one({ command: "x", max_memory: 4096 }).maxMemoryBytes).toBe(4096);
    expect(one({ command: "x", limits: { nofile: 65536, core: 0, nproc: "unlimited", memlock: "64KiB", as: ["1GB", "2GB"], stack: [8388608, "unlimited"], cpu: [60, 120] } }).limits).toEqual({
      nofile: { soft: 65536, hard: 65536 },
      core: { soft: 0, hard: 0 },
      nproc: { soft: Infinity, hard: Infinity },
      memlock: { soft: 65536, hard: 65536 },
      as: { soft: 1e9, hard: 2e9 },
      stack: { soft: 8388608, hard: Infinity },
      cpu: { soft: 60, hard: 120 },
    });
  });

  test("limits merge per key: [defaults].limits < the companion's", () => {
    const s = one({ command: "x", limits: { core: 0 } }, { defaults: { limits: { nofile: 1024, core: "unlimited" } } });
    expect(s.limits).toEqual({ nofile: { soft: 1024, hard: 1024 }, core: { soft: 0, hard: 0 } });
  });

  test("sizes: bytes, powers of 1000 and of 1024; an ambiguous or unknown unit is refused", () => {
    expect(parseSize(0)).toBe(0);
    expect(parseSize("100B")).toBe(100);
    expect(parseSize("1.5 kb")).toBe(1500);
    expect(parseSize("2MiB")).toBe(2 * 2 ** 20);
    expect(parseSize("1TB")).toBe(1e12);
    expect(parseSize("512")).toBe(512);
    expect(parseSize("1M")).toBe('unit "M" is ambiguous: write "MB" (powers of 1000) or "MiB" (powers of 1024)');
    expect(parseSize("3XB")).toBe('unknown unit "XB": use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB');
    expect(parseSize(-1)).toMatch(/^must be a size/);
    expect(parseSize(1.5)).toMatch(/^must be a size/);
    expect(parseSize("lots")).toMatch(/^must be a size/);
    expect(parseSize("99999999TB")).toBe(`must be at most ${Number.MAX_SAFE_INTEGER} bytes`);
  });

  test("nice out of range, or not a whole number", () => {
    expect(p({ nice: 20 })).toEqual(["companions.web.nice: must be from -20 to 19"]);
    expect(p({ nice: -21 })).toEqual(["companions.web.nice: must be from -20 to 19"]);
    expect(p({ nice: 1.5 })).toEqual(["companions.web.nice: must be a whole number from -20 to 19"]);
    expect(p({ nice: "5" })).toEqual(["companions.web.nice: must be a whole number from -20 to 19"]);
    expect(problems(validateConfig({ defaults: { nice: 99 } }, FILE))).toEqual(["defaults.nice: must be from -20 to 19"]);
  });

  test("a bad umask", () => {
    for (const v of ["089", "0o27", "1000", "abc", "", "-1", 512, -1, 1.5]) {
      expect(p({ umask: v })).toEqual([`companions.web.umask: must be an octal string like "027" (not ${JSON.stringify(v)})`]);
    }
    expect(p({ umask: true })).toEqual(['companions.web.umask: must be an octal string like "027"']);
  });

  test("an unknown limit key gets a did-you-mean; a table is required", () => {
    expect(p({ limits: { nofle: 10 } })).toEqual(['companions.web.limits.nofle: unknown key (did you mean "nofile"?)']);
    expect(p({ limits: { rss: 10 } })).toEqual(['companions.web.limits.rss: unknown key (did you mean "as"?)']);
    expect(p({ limits: { zzzzzz: 10 } })).toEqual(["companions.web.limits.zzzzzz: unknown key"]);
    expect(p({ limits: 1024 })).toEqual(["companions.web.limits: must be a table like { nofile = 65536, core = 0 }"]);
    expect(problems(validateConfig({ defaults: { limits: { cores: 0 } } }, FILE))).toEqual(['defaults.limits.cores: unknown key (did you mean "core"?)']);
    // a limit key at the companion's top level is an unknown key there
    expect(p({ nofile: 10 })).toEqual(["companions.web.nofile: unknown key (did you mean limits = { nofile = … }?)"]);
  });

  test("bad limit values", () => {
    expect(p({ limits: { nofile: "512MB" } })).toEqual(['companions.web.limits.nofile: must be a whole number, "unlimited", or [soft, hard]']);
    expect(p({ limits: { nofile: -1 } })).toEqual(['companions.web.limits.nofile: must be a whole number, "unlimited", or [soft, hard]']);
    expect(p({ limits: { cpu: 1.5 } })).toEqual(['companions.web.limits.cpu: must be a whole number, "unlimited", or [soft, hard]']);
    expect(p({ limits: { nproc: [1, 2, 3] } })).toEqual(['companions.web.limits.nproc: must be a whole number, "unlimited", or [soft, hard]']);
    expect(p({ limits: { nofile: [2048, 1024] } })).toEqual(["companions.web.limits.nofile: the soft limit (2048) must not be above the hard limit (1024)"]);
    expect(p({ limits: { core: ["unlimited", 0] } })).toEqual(["companions.web.limits.core: the soft limit (Infinity) must not be above the hard limit (0)"]);
    expect(p({ limits: { as: "1G" } })).toEqual(['companions.web.limits.as: unit "G" is ambiguous: write "GB" (powers of 1000) or "GiB" (powers of 1024)']);
    expect(p({ limits: { memlock: true } })).toEqual(['companions.web.limits.memlock: must be a size: bytes, or a string with a unit ("512MB", "1GiB")']);
  });

  test("max_memory must be a size above 0", () => {
    expect(p({ max_memory: 0 })).toEqual(["companions.web.max_memory: must be more than 0 bytes (leave it out for no limit)"]);
    expect(p({ max_memory: "12XB" })).toEqual(['companions.web.max_memory: unknown unit "XB": use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB']);
    expect(p({ max_memory: "1g" })).toEqual(['companions.web.max_memory: unit "g" is ambiguous: write "GB" (powers of 1000) or "GiB" (powers of 1024)']);
  });

  test("user and group: a name or a numeric id in form", () => {
    expect(p({ user: "" })).toEqual(["companions.web.user: must not be empty"]);
    expect(p({ user: "a b" })).toEqual(["companions.web.user: must be a user name or a numeric id"]);
    expect(p({ group: -1 })).toEqual(["companions.web.group: must be >= 0"]);
    expect(p({ group: 1.5 })).toEqual(["companions.web.group: must be a group name or a numeric id"]);
    expect(p({ user: true })).toEqual(["companions.web.user: must be a user name or a numeric id"]);
  });

  test("user or group while sup is not root: an error at the key that sets it, once for [defaults]", () => {
    const msg = (key: string) => `sup runs as uid 1000, not root: it cannot run companions as another ${key}`;
    expect(p({ user: "app" }, {}, asUser)).toEqual([`companions.web.user: ${msg("user")}`]);
    expect(p({ group: "app" }, {}, asUser)).toEqual([`companions.web.group: ${msg("group")}`]);
    const both = problems(validateConfig({ defaults: { user: "app" }, companions: { a: { command: "x" }, b: { command: "y" } } }, FILE, undefined, asUser));
    expect(both).toEqual([`defaults.user: ${msg("user")}`]);
    // without these keys, a non-root sup is fine
    expect(valid(validateConfig({ companions: { a: { command: "x", umask: "027", nice: 5 } } }, FILE, undefined, asUser)).companions).toHaveLength(1);
  });

  test("as root: an unknown user or group is named; a numeric uid without an entry needs a group", () => {
    expect(p({ user: "nobdy" }, {}, asRoot)).toEqual(['companions.web.user: unknown user "nobdy" (not in /etc/passwd)']);
    expect(p({ user: "app", group: "wheel" }, {}, asRoot)).toEqual(['companions.web.group: unknown group "wheel" (not in /etc/passwd)'.replace("passwd", "group")]);
    expect(p({ user: 4242 }, {}, asRoot)).toEqual(["companions.web.user: user 4242 has no entry in /etc/passwd: set group too"]);
    expect(p({}, { defaults: { user: "ghost" } }, asRoot)).toEqual(['defaults.user: unknown user "ghost" (not in /etc/passwd)']);
    for (const ok of [{ user: "app" }, { user: 1001 }, { user: "1001" }, { user: 4242, group: 4242 }, { group: "ssl-cert" }, { user: "nobody", group: 103 }]) {
      expect(valid(validateConfig({ companions: { web: { command: "x", ...ok } } }, FILE, undefined, asRoot)).companions).toHaveLength(1);
    }
  });

  test("problems in the new keys carry their lines", () => {
    const text = ['[companions.web]', 'command = "x"', "nice = 40", 'umask = "9"', "[companions.web.limits]", "nofle = 1"].join("\n");
    expect(problems(fromText(text)).sort()).toEqual(
      [
        "companions.web.nice: must be from -20 to 19 (/srv/app/sup.toml:3)",
        'companions.web.umask: must be an octal string like "027" (not "9") (/srv/app/sup.toml:4)',
        'companions.web.limits.nofle: unknown key (did you mean "nofile"?) (/srv/app/sup.toml:6)',
      ].sort(),
    );
  });
});

group("the reread hash", () => {
  const base = { command: "prog a", cwd: "app", env: { A: "1", B: "2" }, stdout: "o.log" };

  test("same input, same hash; key order does not matter", () => {
    expect(one(base).hash).toBe(one({ ...base }).hash);
    expect(one(base).hash).toBe(one({ stdout: "o.log", env: { B: "2", A: "1" }, cwd: "app", command: "prog a" }).hash);
    // a default spelled out is the same setting
    expect(one(base).hash).toBe(one({ ...base, restart_delay: 1, stop_signal: "TERM" }).hash);
  });

  // contract §3: what shapes the process restarts it; everything else is updated in place
  test.each([
    ["command", { command: "prog b" }],
    ["command as argv", { command: ["prog", "a"] }],
    ["user", { user: "nobody" }],
    ["group", { group: 65534 }],
    ["umask", { umask: "027" }],
    ["nice", { nice: 5 }],
    ["limits", { limits: { nofile: 1024 } }],
    ["a limit's hard value", { limits: { nofile: [1024, 2048] } }],
    ["stdout", { stdout: "other.log" }],
    ["stderr", { stderr: "stdout" }],
    ["cwd", { cwd: "other" }],
    ["env value", { env: { A: "1", B: "3" } }],
    ["env key", { env: { A: "1", B: "2", C: "" } }],
  ] as const)("changing %s changes the hash (a restart)", (_what, change) => {
    expect(one({ ...base, ...change }).hash).not.toBe(one(base).hash);
  });

  test.each([
    ["startsecs", { startsecs: 2 }],
    ["restart", { restart: "never" }],
    ["restart_delay", { restart_delay: 2 }],
    ["backoff", { backoff: "fixed" }],
    ["success_exit_codes", { success_exit_codes: [0, 2] }],
    ["max_restarts", { max_restarts: 5 }],
    ["max_memory", { max_memory: "512MB" }],
    ["max_restart_delay", { max_restart_delay: 31 }],
    ["stop_signal", { stop_signal: "SIGINT" }],
    ["stop_timeout", { stop_timeout: 11 }],
    ["reload_timeout", { reload_timeout: 11 }],
    ["essential", { essential: true }],
    ["autostart", { autostart: false }],
    ["log_file", { log_file: "x.log" }],
  ] as const)("changing %s keeps the hash and changes the policy hash (updated in place)", (_what, change) => {
    expect(one({ ...base, ...change }).hash).toBe(one(base).hash);
    expect(one({ ...base, ...change }).policyHash).not.toBe(one(base).policyHash);
  });

  test("a change through [defaults] counts the same", () => {
    expect(one(base, { defaults: { restart_delay: 5 } }).policyHash).not.toBe(one(base).policyHash);
    expect(one(base, { defaults: { env: { Z: "1" } } }).hash).not.toBe(one(base).hash);
  });

  test("reload_timeout defaults to the companion's stop_timeout", () => {
    expect(one({ ...base, stop_timeout: 3 }).reloadTimeoutMs).toBe(3000);
    expect(one({ ...base, stop_timeout: 3, reload_timeout: 7 }).reloadTimeoutMs).toBe(7000);
    expect(one(base, { defaults: { stop_timeout: 4 } }).reloadTimeoutMs).toBe(4000);
  });
});

group("string commands", () => {
  test.each([
    ["prog", ["prog"]],
    ["prog arg", ["prog", "arg"]],
    ["  python3 -m http.server 8000 ", ["python3", "-m", "http.server", "8000"]],
    ["/usr/bin/env --opt=1 a,b x@y 50%", ["/usr/bin/env", "--opt=1", "a,b", "x@y", "50%"]],
    ["./bin/run-me", ["./bin/run-me"]],
  ])("plain %p is exec'd directly", (cmd, argv) => {
    expect(shellArgv(cmd)).toEqual(argv);
  });

  test.each([
    "prog > out.log",
    "prog | tee x",
    "a && b",
    "a; b",
    "prog $HOME",
    "prog 'quoted arg'",
    'prog "quoted"',
    "prog *.txt",
    "~/bin/prog",
    "prog &",
    "FOO=1 prog",
    "exec prog",
    "cd /tmp",
    "exit 3",
    "echo hi",
    "trap '' TERM",
    "source env.sh",
    ". env.sh",
    "test -f x",
    "true",
    "prog `date`",
    "prog # comment",
  ])("%p runs with /bin/sh -c", (cmd) => {
    expect(shellArgv(cmd)).toEqual(["/bin/sh", "-c", cmd]);
  });

  test("through the config: a string keeps what was written, argv is what runs; an array is argv", () => {
    expect(one({ command: "prog arg" })).toMatchObject({ command: "prog arg", argv: ["prog", "arg"] });
    expect(one({ command: "sleep 1 && prog" })).toMatchObject({ command: "sleep 1 && prog", argv: ["/bin/sh", "-c", "sleep 1 && prog"] });
    expect(one({ command: ["bun", "worker.ts", "a b"] })).toMatchObject({ command: ["bun", "worker.ts", "a b"], argv: ["bun", "worker.ts", "a b"] });
  });
});

group("loadConfig on real files", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });
  const tmp = () => (dir = mkdtempSync(join(tmpdir(), "sup-config-")));

  test("a missing file", async () => {
    const d = tmp();
    const file = join(d, "nope.toml");
    expect(await loadConfig(file)).toEqual({ ok: false, problems: [`${file}: cannot read config: no such file`] });
  });

  test("a folder instead of a file", async () => {
    const d = tmp();
    mkdirSync(join(d, "sub.toml"));
    expect(await loadConfig(join(d, "sub.toml"))).toEqual({ ok: false, problems: [`${join(d, "sub.toml")}: cannot read config: is a folder`] });
  });

  test("a TOML syntax error names file:line", async () => {
    const d = tmp();
    const file = join(d, "sup.toml");
    writeFileSync(file, '[sup]\nsocket = "a.sock"\n\n[companions.web]\ncommand = = "x"\n');
    const p = problems(await loadConfig(file));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:5(:\\d+)?: invalid TOML: `));
  });

  test("a duplicate companion name reads as the original's words, whatever way it is written twice", async () => {
    const d = tmp();
    const file = join(d, "sup.toml");
    const cases: [string, string[]][] = [
      ['[companions.web]\ncommand = "a"\n[companions.db]\ncommand = "b"\n[companions.web]\ncommand = "c"\n', ["duplicate companion name web"]],
      ['[companions.web]\ncommand = "a"\n[ companions . "web" ]\ncommand = "c"\n', ["duplicate companion name web"]],
      ['[companions]\nweb = { command = "a" }\n[companions.web]\ncommand = "c"\n', ["duplicate companion name web"]],
      ['[companions]\nweb = { command = "a" }\nweb = { command = "b" }\n', ["duplicate companion name web"]],
      ['companions.web.command = "a"\n[companions.web]\ncommand = "c"\n', ["duplicate companion name web"]],
      ['[companions."x.y"]\ncommand = "a"\n[companions."x.y"]\ncommand = "c"\n', ["duplicate companion name x.y"]],
    ];
    for (const [text, want] of cases) {
      writeFileSync(file, text);
      expect({ text, got: await loadConfig(file) }).toEqual({ text, got: { ok: false, problems: want } });
    }
    // a duplicate and another syntax error: both
    writeFileSync(file, '[companions.web]\ncommand = "a"\ncommand = "b"\n[companions.web]\n');
    const both = problems(await loadConfig(file));
    expect(both[0]).toBe("duplicate companion name web");
    expect(both[1]).toContain("invalid TOML");
    // a redefined key inside one companion is not a duplicate name
    writeFileSync(file, '[companions.web]\ncommand = "a"\ncommand = "b"\n');
    expect(problems(await loadConfig(file))[0]).toContain("invalid TOML");
  });

  test("duplicateCompanions: sub-tables, dotted keys of one table and multi-line strings are no duplicates", () => {
    expect(duplicateCompanions('[companions.web.env]\nA = "1"\n[companions.web]\ncommand = "b"\n')).toEqual([]);
    expect(duplicateCompanions('[companions]\nweb.command = "a"\nweb.cwd = "."\ndb = { command = "x" }\n')).toEqual([]);
    expect(duplicateCompanions('[companions.web]\ncommand = """\n[companions.web]\n"""\n')).toEqual([]);
    expect(duplicateCompanions("[companions.a]\n[companions.b]\n[companions.a]\n[companions.b]\n[companions.a]\n")).toEqual(["a", "b"]);
    expect(duplicateCompanions("[companions.web] # one\n[companions.web]# two\n")).toEqual(["web"]);
    expect(duplicateCompanions("[[companions.web]]\n[sup]\n")).toEqual([]);
  });

  test("an unclosed table header names its line", async () => {
    const d = tmp();
    const file = join(d, "sup.toml");
    writeFileSync(file, '# comment\n[companions.web\ncommand = "x"\n');
    expect(problems(await loadConfig(file))[0]).toStartWith(`${file}:2`);
  });

  test("a valid file: paths resolve against its folder, problems carry its lines", async () => {
    const d = tmp();
    const file = join(d, "sup.toml");
    writeFileSync(
      file,
      [
        "[sup]",
        'socket = "run/sup.sock"',
        "fail_fast = true",
        "[defaults]",
        "startsecs = 0.5",
        "env = { SHARED = \"1\" }",
        "[companions.web]",
        'command = "python3 -m http.server 8000"',
        'cwd = "app"',
        'env = { PORT = "8000" }',
        'stdout = "logs/web.log"',
        'stderr = "stdout"',
        "[companions.worker]",
        'command = ["bun", "worker.ts"]',
        'restart = "on-failure"',
        'backoff = "exponential"',
        "",
      ].join("\n"),
    );
    const cfg = valid(await loadConfig(file));
    expect(cfg.file).toBe(file);
    expect(cfg.socket).toBe(join(d, "run/sup.sock"));
    expect(cfg.failFast).toBe(true);
    expect(cfg.companions.map((c) => c.name)).toEqual(["web", "worker"]);
    expect(cfg.companions[0]).toMatchObject({
      argv: ["python3", "-m", "http.server", "8000"],
      cwd: join(d, "app"),
      env: { SHARED: "1", PORT: "8000" },
      stdout: { kind: "file", path: join(d, "logs/web.log") },
      stderr: { kind: "stdout" },
      startsecsMs: 500,
    });
    expect(cfg.companions[1]).toMatchObject({ argv: ["bun", "worker.ts"], restart: "on-failure", backoff: "exponential", cwd: d });

    writeFileSync(file, '[companions.web]\ncommand = "x"\nstop_signal = "SIGTRM"\n');
    expect(problems(await loadConfig(file))).toEqual([`companions.web.stop_signal: unknown signal "SIGTRM" (${file}:3)`]);
  });

  test("user is checked against this machine: root, and a user that exists", async () => {
    const d = tmp();
    const file = join(d, "sup.toml");
    writeFileSync(file, '[companions.web]\ncommand = "x"\nuser = "no-such-user-sup-test"\n');
    const uid = process.getuid!();
    expect(problems(await loadConfig(file))).toEqual([
      uid === 0
        ? `companions.web.user: unknown user "no-such-user-sup-test" (not in /etc/passwd) (${file}:3)`
        : `companions.web.user: sup runs as uid ${uid}, not root: it cannot run companions as another user (${file}:3)`,
    ]);
    writeFileSync(file, '[companions.web]\ncommand = "x"\nuser = 0\n');
    if (uid === 0) expect(valid(await loadConfig(file)).companions[0]).toMatchObject({ user: 0 });
  });
});
