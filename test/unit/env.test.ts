// Env files and interpolation (contract §3, §12): dotenv syntax, ${VAR} / ${VAR:-default} / $$,
// the merge order, and the config messages with key paths — through env.ts and validateConfig.
import { describe as group, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { companionEnv, envFileEntry, interpolate, parseEnvFile, type EnvFileRead, type EnvSource } from "../../src/config/env.ts";
import { loadConfig } from "../../src/config/load.ts";
import { validateConfig, type ConfigResult } from "../../src/config/validate.ts";
import type { SupConfig } from "../../src/config/schema.ts";

const FILE = "/srv/app/sup.toml";

/** sup's environment and env files given as data: no disk */
function source(vars: Record<string, string>, files: Record<string, string> = {}): EnvSource {
  return {
    vars,
    read: (path): EnvFileRead => (path in files ? { ok: true, text: files[path]! } : { ok: false, missing: true, why: "no such file" }),
  };
}
function check(raw: Record<string, unknown>, src: EnvSource, text?: string): ConfigResult {
  return validateConfig(raw, FILE, text, undefined, src);
}
function valid(r: ConfigResult): SupConfig {
  if (!r.ok) throw new Error(`want a valid config, got:\n${r.problems.join("\n")}`);
  return r.config;
}
/** the problems, in a fixed order (sorting them by line is validate.ts's business, tested there) */
function problems(r: ConfigResult): string[] {
  if (r.ok) throw new Error("want problems, got a valid config");
  return [...r.problems].sort();
}

group("dotenv syntax", () => {
  test.each([
    ["KEY=value", { KEY: "value" }],
    ["export KEY=value", { KEY: "value" }],
    ["KEY = spaced  ", { KEY: "spaced" }],
    ["# a comment\nKEY=v # trailing comment", { KEY: "v" }],
    ["KEY='single $HOME # kept'", { KEY: "single $HOME # kept" }],
    ['KEY="double # kept"', { KEY: "double # kept" }],
    ['KEY="a\\nb"', { KEY: "a\nb" }],
    ["KEY='a\\nb'", { KEY: "a\\nb" }],
    ['KEY="first\nsecond"', { KEY: "first\nsecond" }],
    ["KEY=", { KEY: "" }],
    ["KEY=a=b", { KEY: "a=b" }],
    ["A=1\r\nB=2\r\n", { A: "1", B: "2" }],
    ["A=1\nA=2", { A: "2" }],
    ["not a pair\nK=v", { K: "v" }],
    ["", {}],
  ] as const)("%j", (text, want) => {
    expect(parseEnvFile(text)).toEqual(want);
  });

  test('a leading "-" marks an optional file and is not part of its name', () => {
    expect(envFileEntry("-.env.local")).toEqual({ optional: true, path: ".env.local" });
    expect(envFileEntry(".env")).toEqual({ optional: false, path: ".env" });
  });
});

group("interpolate", () => {
  const vars: Record<string, string> = { HOST: "db", EMPTY: "", PORT: "5432" };
  const run = (s: string) => interpolate(s, (n) => vars[n]);
  test.each([
    ["${HOST}", "db"],
    ["x${HOST}y${PORT}", "xdby5432"],
    ["${NOPE:-fallback}", "fallback"],
    ["${HOST:-fallback}", "db"],
    ["${EMPTY:-fallback}", "fallback"],
    ["${NOPE:-}", ""],
    ["${EMPTY}", ""],
    ["${NOPE:-${HOST}:${PORT}}", "db:5432"],
    ["${NOPE:-${ALSO_NOPE:-deep}}", "deep"],
    ["${HOST:-${UNSET_BUT_UNUSED}}", "db"],
    ["$$", "$"],
    ["$${HOST}", "${HOST}"],
    ["$$$${HOST}", "$${HOST}"],
    ["$$${HOST}", "$db"],
    ["cost: $5 and $HOST", "cost: $5 and $HOST"],
    ["trailing $", "trailing $"],
    ["${NOPE:-a $$ b}", "a $ b"],
    ["no dollars", "no dollars"],
  ])("%s -> %s", (input, want) => {
    expect(run(input)).toEqual({ ok: true, value: want });
  });

  test.each([
    ["${DB_HOST}", "${DB_HOST} is not set (write ${DB_HOST:-value} to give it a default)"],
    ["${NOPE:-${ALSO}}", "${ALSO} is not set (write ${ALSO:-value} to give it a default)"],
    ["${HOST", "${HOST is not closed: write ${NAME} or ${NAME:-default} ($$ for a literal $)"],
    ["${NOPE:-x", "${NOPE:-x is not closed: write ${NAME} or ${NAME:-default} ($$ for a literal $)"],
    ["${}", '"${}": "" is not a variable name (letters, digits, _; $$ for a literal $)'],
    ["${1X}", '"${1X}": "1X" is not a variable name (letters, digits, _; $$ for a literal $)'],
    ["${A B}", '"${A B}": "A B" is not a variable name (letters, digits, _; $$ for a literal $)'],
    ["${HOST:=x}", '"${HOST:=": only ${HOST} and ${HOST:-default} are understood'],
  ])("%s is refused", (input, message) => {
    expect(run(input)).toEqual({ ok: false, message });
  });
});

group("companionEnv", () => {
  const base = { name: "web", dir: "/srv/app", defaultsEnv: {}, envFiles: [], envFilesAt: ["defaults", "env_file"], env: {}, envAt: ["companions", "web", "env"] };

  test("each value sees sup's env, SUP_NAME and the keys before it; later layers win", () => {
    const r = companionEnv(
      {
        ...base,
        defaultsEnv: { A: "d-${SUP_NAME}", B: "d" },
        envFiles: ["one.env", "two.env"],
        env: { C: "${A}+${B}+${F}+${OUTER}", A: "own-${A}" },
      },
      source({ OUTER: "o" }, { "/srv/app/one.env": "B=one\nF=${NOT_EXPANDED}", "/srv/app/two.env": "B=two" }),
    );
    expect(r.problems).toEqual([]);
    expect(r.env).toEqual({ A: "own-d-web", B: "two", C: "d-web+two+${NOT_EXPANDED}+o", F: "${NOT_EXPANDED}" });
    expect(r.expand("logs/${SUP_NAME}-${B}.log", ["x"])).toBe("logs/web-two.log");
  });

  test("a key refers to the value before its own (PATH extension)", () => {
    const r = companionEnv({ ...base, env: { PATH: "/opt/bin:${PATH}" } }, source({ PATH: "/usr/bin" }));
    expect(r.env.PATH).toBe("/opt/bin:/usr/bin");
  });

  test("a key set later is not seen by an earlier one", () => {
    const r = companionEnv({ ...base, env: { A: "${B:-early}", B: "late" } }, source({}));
    expect(r.env).toEqual({ A: "early", B: "late" });
  });

  test("SUP_INSTANCE only when the caller gives one", () => {
    expect(companionEnv({ ...base, env: { I: "${SUP_INSTANCE:-none}" } }, source({})).env.I).toBe("none");
    expect(companionEnv({ ...base, name: "web.3", instance: 3, env: { I: "${SUP_NAME}/${SUP_INSTANCE}" } }, source({})).env.I).toBe("web.3/3");
  });

  test("env file keys and values are checked like env keys", () => {
    const r = companionEnv({ ...base, envFiles: ["bad.env"] }, source({}, { "/srv/app/bad.env": "OK=1\nNUL=a\0b" }));
    expect(r.problems).toEqual([{ path: ["defaults", "env_file"], message: '/srv/app/bad.env: the value of "NUL" must not contain a NUL byte' }]);
    expect(r.env).toEqual({ OK: "1" });
  });
});

group("validateConfig with env files and interpolation", () => {
  test("merge order: inherited < [defaults].env < env files in order < companion env", () => {
    const c = valid(
      check(
        { defaults: { env: { A: "defaults", B: "defaults", C: "defaults", D: "defaults" }, env_file: ["a.env", "/etc/b.env"] }, companions: { web: { command: "x", env: { D: "own" } } } },
        source({ A: "inherited", Z: "inherited" }, { "/srv/app/a.env": "B=a\nC=a", "/etc/b.env": "C=b" }),
      ),
    ).companions[0]!;
    // the inherited env is added at spawn; the spec holds what the config sets
    expect(c.env).toEqual({ A: "defaults", B: "a", C: "b", D: "own" });
  });

  test("a companion's env_file replaces [defaults]' (as every key but env and limits does)", () => {
    const c = valid(check({ defaults: { env_file: "a.env" }, companions: { web: { command: "x", env_file: "b.env" } } }, source({}, { "/srv/app/a.env": "A=1", "/srv/app/b.env": "B=2" }))).companions[0]!;
    expect(c.env).toEqual({ B: "2" });
  });

  test("a missing env file is an error naming the key path and the file; a '-' one is skipped", () => {
    const text = `[defaults]\nenv_file = "shared.env"\n\n[companions.web]\ncommand = "x"\nenv_file = ["-.env.local", "web.env"]\n\n[companions.db]\ncommand = "x"\n`;
    expect(problems(check(Bun.TOML.parse(text) as Record<string, unknown>, source({}), text))).toEqual([
      `defaults.env_file: cannot read env file /srv/app/shared.env: no such file (write "-shared.env" if it is optional) (${FILE}:2)`,
      `companions.web.env_file.1: cannot read env file /srv/app/web.env: no such file (write "-web.env" if it is optional) (${FILE}:6)`,
    ].sort());
    const c = valid(check({ companions: { web: { command: "x", env_file: "-.env.local" } } }, source({}))).companions[0]!;
    expect(c.env).toEqual({});
  });

  test('an optional file that exists is read; "-" alone is refused', () => {
    const c = valid(check({ companions: { web: { command: "x", env_file: "-.env.local" } } }, source({}, { "/srv/app/.env.local": "L=1" }))).companions[0]!;
    expect(c.env).toEqual({ L: "1" });
    expect(problems(check({ companions: { web: { command: "x", env_file: "-" } } }, source({})))).toEqual([
      'companions.web.env_file: "-" must be followed by a file name (e.g. "-.env.local": optional)',
    ]);
  });

  test("a file that cannot be read is an error even when optional", () => {
    const src: EnvSource = { vars: {}, read: () => ({ ok: false, missing: false, why: "permission denied" }) };
    expect(problems(check({ companions: { web: { command: "x", env_file: "-secret.env" } } }, src))).toEqual([
      "companions.web.env_file: cannot read env file /srv/app/secret.env: permission denied",
    ]);
  });

  test("env_file must be a path or a list of paths", () => {
    expect(problems(check({ companions: { web: { command: "x", env_file: 3 } } }, source({})))).toEqual(["companions.web.env_file: must be a file path or a list of them"]);
    expect(problems(check({ companions: { web: { command: "x", env_file: [""] } } }, source({})))).toEqual(["companions.web.env_file.0: must not be empty"]);
  });

  test("interpolated: env, cwd, stdout/stderr files, log_file, env_file paths, array commands", () => {
    const c = valid(
      check(
        {
          defaults: { env: { ROOT: "/data/${SUP_NAME}" }, log_file: "logs/${SUP_NAME}.log" },
          companions: {
            web: {
              command: ["${BIN:-/usr/bin/app}", "--root", "${ROOT}", "--price", "$$5"],
              cwd: "${ROOT}/run",
              stdout: "${ROOT}/out.log",
              stderr: "${ROOT}/err.log",
              env_file: "${CONF}/web.env",
              env: { URL: "http://${DB_HOST}:${PORT:-5432}/" },
            },
          },
        },
        source({ CONF: "/etc/app" }, { "/etc/app/web.env": "DB_HOST=db" }),
      ),
    ).companions[0]!;
    expect(c.argv).toEqual(["/usr/bin/app", "--root", "/data/web", "--price", "$5"]);
    expect(c.command).toEqual(["${BIN:-/usr/bin/app}", "--root", "${ROOT}", "--price", "$$5"]); // as written
    expect(c.cwd).toBe("/data/web/run");
    expect(c.stdout).toEqual({ kind: "file", path: "/data/web/out.log" });
    expect(c.stderr).toEqual({ kind: "file", path: "/data/web/err.log" });
    expect(c.log.file).toBe("/srv/app/logs/web.log");
    expect(c.env).toEqual({ ROOT: "/data/web", DB_HOST: "db", URL: "http://db:5432/" });
  });

  test("a string command is left to the shell", () => {
    const c = valid(check({ companions: { web: { command: "echo ${NOPE} $$ $HOME" } } }, source({}))).companions[0]!;
    expect(c.argv).toEqual(["/bin/sh", "-c", "echo ${NOPE} $$ $HOME"]);
  });

  test("an unset variable names its key path and line; [defaults] problems are reported once", () => {
    const text = `[defaults]\nenv = { SHARED = "\${NOPE_SHARED}" }\n\n[companions.web]\ncommand = ["app", "\${NOPE_ARG}"]\ncwd = "\${NOPE_CWD}"\nenv = { URL = "\${DB_HOST}" }\n\n[companions.db]\ncommand = "x"\n`;
    expect(problems(check(Bun.TOML.parse(text) as Record<string, unknown>, source({}), text))).toEqual([
      `defaults.env.SHARED: \${NOPE_SHARED} is not set (write \${NOPE_SHARED:-value} to give it a default) (${FILE}:2)`,
      `companions.web.command.1: \${NOPE_ARG} is not set (write \${NOPE_ARG:-value} to give it a default) (${FILE}:5)`,
      `companions.web.cwd: \${NOPE_CWD} is not set (write \${NOPE_CWD:-value} to give it a default) (${FILE}:6)`,
      `companions.web.env.URL: \${DB_HOST} is not set (write \${DB_HOST:-value} to give it a default) (${FILE}:7)`,
    ].sort());
  });

  test("sup's environment defaults to process.env", () => {
    process.env.SUP_ENV_TEST_VAR = "from-process";
    try {
      const c = valid(validateConfig({ companions: { web: { command: "x", env: { V: "${SUP_ENV_TEST_VAR}" } } } }, FILE)).companions[0]!;
      expect(c.env.V).toBe("from-process");
    } finally {
      delete process.env.SUP_ENV_TEST_VAR;
    }
  });

  test("the reread hash follows the env files' contents", () => {
    const raw = { companions: { web: { command: "x", env_file: "a.env" }, db: { command: "y" } } };
    const one = valid(check(raw, source({}, { "/srv/app/a.env": "A=1" })));
    const two = valid(check(raw, source({}, { "/srv/app/a.env": "A=2" })));
    expect(two.companions[0]!.hash).not.toBe(one.companions[0]!.hash);
    expect(two.companions[1]!.hash).toBe(one.companions[1]!.hash);
  });
});

group("loadConfig reads env files beside the config", () => {
  test("relative to the config's folder, each file once, missing ones reported", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sup-env-"));
    try {
      writeFileSync(join(dir, ".env"), 'export GREETING="hello\nworld"\nNAME=\'sup\'\n');
      writeFileSync(join(dir, "sup.toml"), `[defaults]\nenv_file = [".env", "-.env.local"]\n[companions.a]\ncommand = "x"\nenv = { MSG = "\${GREETING} from \${NAME} as \${SUP_NAME} of \${OWNER}" }\n[companions.b]\ncommand = "x"\n`);
      const c = valid(await loadConfig(join(dir, "sup.toml"), { OWNER: "ops" }));
      expect(c.companions.map((x) => x.env)).toEqual([
        { GREETING: "hello\nworld", NAME: "sup", MSG: "hello\nworld from sup as a of ops" },
        { GREETING: "hello\nworld", NAME: "sup" },
      ]);
      rmSync(join(dir, ".env"));
      expect(problems(await loadConfig(join(dir, "sup.toml"), {}))).toEqual([
        `defaults.env_file.0: cannot read env file ${join(dir, ".env")}: no such file (write "-.env" if it is optional) (${join(dir, "sup.toml")}:2)`,
        `companions.a.env.MSG: \${GREETING} is not set (write \${GREETING:-value} to give it a default) (${join(dir, "sup.toml")}:5)`,
      ].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
