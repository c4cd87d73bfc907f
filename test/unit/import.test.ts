// `sup import` (contract §13): the TOML writer, supervisord's lexers, each [program:x] key's
// mapping and each unmappable key's warning, the other sections, [include], order by priority,
// and the Procfile with its .env; every output is validated as sup validates sup.toml.
import { describe, expect, test } from "bun:test";
import { noFiles, type EnvSource } from "../../src/config/env.ts";
import type { SupConfig } from "../../src/config/schema.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { detect } from "../../src/cli/verbs/import.ts";
import { fromProcfile } from "../../src/import/procfile.ts";
import { envPairs, fromSupervisord, shlexSplit } from "../../src/import/supervisord.ts";
import { basic, key, render, str, value } from "../../src/import/toml.ts";

const DIR = "/srv/app";
const CONF = `${DIR}/supervisord.conf`;
const ENV = { HOME: "/home/app", PATH: "/usr/bin:/bin", LANG: "C.UTF-8" };

/** fromSupervisord on in-memory files; sup.toml lives in DIR unless outDir says otherwise */
function sd(text: string, opts: { files?: Record<string, string>; env?: Record<string, string>; outDir?: string } = {}) {
  const files: Record<string, string> = { [CONF]: text, ...opts.files };
  return fromSupervisord({
    file: CONF,
    text,
    outDir: opts.outDir ?? DIR,
    env: opts.env ?? ENV,
    hostname: "box1",
    read: (p) => files[p] ?? null,
    glob: (pattern) => Object.keys(files).filter((f) => new Bun.Glob(pattern).match(f)).sort(),
    show: (p) => (p.startsWith(`${DIR}/`) ? p.slice(DIR.length + 1) : p),
  });
}

type Raw = { sup?: Record<string, unknown>; defaults?: Record<string, unknown>; companions: Record<string, Record<string, unknown>> };
const parsed = (toml: string) => Bun.TOML.parse(toml) as Raw;

/** validates as `sup check` does (schema, env, interpolation), without the machine */
function valid(toml: string, env: EnvSource = noFiles(ENV)): SupConfig {
  const r = validateConfig(Bun.TOML.parse(toml), `${DIR}/sup.toml`, toml, undefined, env);
  if (!r.ok) throw new Error(`sup would refuse:\n${r.problems.join("\n")}\n---\n${toml}`);
  return r.config;
}

/** one program's companion table, after checking that sup takes the whole file */
function program(body: string, opts: Parameters<typeof sd>[1] = {}, name = "web") {
  const r = sd(`[program:${name}]\n${body}`, opts);
  valid(r.toml, noFiles(opts.env ?? ENV));
  return { c: parsed(r.toml).companions[name]!, warnings: r.warnings, toml: r.toml, all: parsed(r.toml) };
}

describe("the TOML writer", () => {
  test("strings are escaped so that any text reads back the same", () => {
    const tricky = ['plain', 'say "hi"', "it's", "back\\slash", "tab\there", "new\nline", "cr\r", "\u0000nul\u0001\u001f\u007f", "ünïcødé ✓ 😀", "", "'both' \"kinds\" \\"];
    for (const s of tricky) {
      const doc = `k = ${str(s)}\nb = ${basic(s)}\n`;
      expect(Bun.TOML.parse(doc)).toEqual({ k: s, b: s });
    }
    expect(str('say "hi"')).toBe(`'say "hi"'`); // a literal string where it reads better
    expect(str("it's \"x\"")).toBe('"it\'s \\"x\\""');
    expect(basic("a\u007fb")).toBe('"a\\u007Fb"');
  });

  test("keys are bare only when TOML allows; arrays and inline tables nest", () => {
    expect(key("web_1-a")).toBe("web_1-a");
    expect(key("a.b")).toBe('"a.b"');
    expect(key("")).toBe('""');
    const v = { "a.b": ["x", 1, true, 0.5], "with space": { n: -3 } };
    expect(Bun.TOML.parse(`v = ${value(v)}\n`)).toEqual({ v });
    expect(value({})).toBe("{}");
  });

  test("a document: comments above tables and after values, one line each", () => {
    const text = render(
      [
        { path: ["companions", "web.1"], above: ["two\nlines"], rows: [{ key: "command", value: ["a"], comment: "x\ny" }, { comment: "note" }] },
        { path: ["defaults"], rows: [] },
      ],
      ["head"],
    );
    expect(text).toBe(`# head\n\n# two lines\n[companions."web.1"]\ncommand = ["a"]  # x y\n# note\n\n[defaults]\n`);
    expect(Bun.TOML.parse(text)).toEqual({ companions: { "web.1": { command: ["a"] } }, defaults: {} });
  });
});

describe("supervisord's lexers", () => {
  test("command: shlex.split, POSIX rules", () => {
    expect(shlexSplit(`gunicorn app:app -b 0.0.0.0:8000`)).toEqual(["gunicorn", "app:app", "-b", "0.0.0.0:8000"]);
    expect(shlexSplit(`bash -c "cd /x && exec run" 'single $q' a\\ b "esc \\" \\\\ \\n" ''`)).toEqual(["bash", "-c", "cd /x && exec run", "single $q", "a b", 'esc " \\ \\n', ""]);
    expect(shlexSplit(`a"b c"d`)).toEqual(["ab cd"]);
    expect(shlexSplit(`x 'open`)).toEqual({ error: "no closing quotation" });
    expect(shlexSplit(`x \\`)).toEqual({ error: "no escaped character after \\" });
  });

  test("environment: KEY=val pairs, quotes keep commas, quotes are stripped", () => {
    expect(envPairs(`A="1",B='two, three',C=plain/path:x,D=""`)).toEqual([
      ["A", "1"],
      ["B", "two, three"],
      ["C", "plain/path:x"],
      ["D", ""],
    ]);
    expect(envPairs(`A=1,\n  B="x=y"`)).toEqual([
      ["A", "1"],
      ["B", "x=y"],
    ]);
    expect(envPairs(`URL=postgres://u@h`)).toEqual({ error: expect.stringContaining("unexpected end") }); // "@" ends a word: quote it
    expect(envPairs(`A="open`)).toEqual({ error: "no closing quotation" });
  });
});

describe("[program:x] keys", () => {
  test("command becomes an argv array (supervisord runs no shell); $ is $$; %% is %", () => {
    const { c, warnings } = program(`command=/usr/bin/env echo "a b" 'c d' 100%% $HOME`);
    expect(c.command).toEqual(["/usr/bin/env", "echo", "a b", "c d", "100%", "$$HOME"]);
    expect(valid(sd(`[program:web]\ncommand=echo $HOME`).toml).companions[0]!.argv).toEqual(["echo", "$HOME"]);
    expect(warnings).toEqual([`[program:web] key 'command': "$HOME" reach the program as plain arguments, as under supervisord (it runs no shell); for a shell write command = ["sh", "-c", "…"] (supervisord.conf:2)`]);
  });

  test("shell syntax in a command is kept as arguments and said; a bad command leaves the program out", () => {
    const { c, warnings } = program(`command=myapp > /tmp/log 2>&1`);
    expect(c.command).toEqual(["myapp", ">", "/tmp/log", "2>&1"]);
    expect(warnings[0]).toContain(`'command': ">", "2>&1" reach the program as plain arguments`);
    // " ;" starts a comment: the quote is never closed, as supervisord finds too
    const r = sd(`[program:web]\ncommand=bash -c 'a ; b'\n[program:ok]\ncommand=true\n`);
    expect(r.companions).toEqual(["ok"]);
    expect(r.warnings[0]).toBe(`[program:web] key 'command': supervisord cannot split it either (no closing quotation; a " ;" or " #" starts a comment): the program is left out (supervisord.conf:2)`);
    expect(sd(`[program:x]\ndirectory=/tmp\n`).warnings).toContain("[program:x] has no command (supervisord refuses it): the program is left out (supervisord.conf:1)");
  });

  test("expansions: %(ENV_X)s is ${X}; program_name, group_name, here, host_node_name, numprocs", () => {
    const { c, warnings } = program(
      `command=%(here)s/bin/run --name %(program_name)s --group %(group_name)s --home %(ENV_HOME)s --host %(host_node_name)s -n %(numprocs)d\ndirectory=%(here)s/app\n`,
    );
    expect(c.command).toEqual([`${DIR}/bin/run`, "--name", "web", "--group", "web", "--home", "${HOME}", "--host", "box1", "-n", "1"]);
    expect(c.cwd).toBe("./app"); // against sup.toml's folder, like %(here)s against supervisord.conf's
    expect(valid(sd(`[program:web]\ncommand=x %(ENV_HOME)s\n`).toml).companions[0]!.argv).toEqual(["x", "/home/app"]);
    expect(warnings).toEqual(["[program:web] key 'command': %(host_node_name)s is written as this machine's name, box1 (supervisord.conf:2)"]);
    // sup.toml elsewhere: %(here)s in a path is relative to where it lives
    expect(program(`command=x\ndirectory=%(here)s/app`, { outDir: "/etc/sup" }).c.cwd).toBe("../../srv/app/app");
  });

  test("an unknown %(name)s or a lone % is reported; ~ in a path is $HOME", () => {
    const r = sd(`[program:web]\ncommand=x %(nope)s\n[program:ok]\ncommand=date +%Y\ndirectory=~/app\nstdout_logfile=~/ok.log\nstdout_logfile_maxbytes=0\n`);
    expect(r.companions).toEqual(["ok"]);
    expect(r.warnings).toContain("[program:web] key 'command': %(nope)s is not a name supervisord expands here (it refuses the value): skipped (supervisord.conf:2)");
    expect(r.warnings).toContain(`[program:ok] key 'command': a lone "%" (supervisord wants "%%" and refuses the value); kept as "%" (supervisord.conf:4)`);
    const ok = parsed(r.toml).companions.ok!;
    expect(ok).toMatchObject({ command: ["date", "+%Y"], cwd: "${HOME}/app", stdout: "${HOME}/ok.log" });
    expect(valid(r.toml).companions[0]!.cwd).toBe("/home/app/app");
  });

  test("directory -> cwd; a relative one is said to resolve against sup.toml's folder", () => {
    const { c, warnings } = program(`command=x\ndirectory=app`);
    expect(c.cwd).toBe("app");
    expect(warnings).toEqual([`[program:web] key 'directory': "app" is relative: sup resolves it against sup.toml's folder (supervisord: against its own working folder) (supervisord.conf:3)`]);
    expect(program(`command=x\ndirectory=/srv/$weird`).c.cwd).toBe("/srv/$$weird");
  });

  test("environment -> env: quotes, commas inside quotes, %(ENV_X)s, continuation lines, $ kept literal", () => {
    const { c, all } = program(`command=x\nenvironment=A="1,2",B='say "hi"',PATH="/opt/bin:%(ENV_PATH)s",\n    C=plain,D="$NOT_EXPANDED"\n`);
    // B: supervisord strips every quote at either end, the last " too (its dict_of_key_value_pairs)
    expect(c.env ?? all.companions.web!.env).toEqual({ A: "1,2", B: 'say "hi', PATH: "/opt/bin:${PATH}", C: "plain", D: "$$NOT_EXPANDED" });
    const spec = valid(sd(`[program:web]\ncommand=x\nenvironment=A="1,2",PATH="/opt/bin:%(ENV_PATH)s",D="$NOT"\n`).toml).companions[0]!;
    expect(spec.env).toEqual({ A: "1,2", PATH: "/opt/bin:/usr/bin:/bin", D: "$NOT" });
    // %(ENV_X)s of a variable set by the program's own environment: sup looks there too
    expect(valid(sd(`[program:web]\ncommand=x %(ENV_A)s\nenvironment=A="a"\n`).toml).companions[0]!.argv).toEqual(["x", "a"]);
    const bad = sd(`[program:web]\ncommand=x\nenvironment=URL=postgres://u@h\n`);
    expect(bad.warnings[0]).toStartWith("[program:web] key 'environment': supervisord cannot read it either (unexpected end of key/value pairs");
  });

  test("a long environment becomes its own [companions.NAME.env] table", () => {
    const r = sd(`[program:web]\ncommand=x\nenvironment=A="1",B="2",C="3",D="4",E="5"\n`);
    expect(r.toml).toContain(`[companions.web.env]\nA = "1"\nB = "2"\n`);
    expect(valid(r.toml).companions[0]!.env).toEqual({ A: "1", B: "2", C: "3", D: "4", E: "5" });
  });

  test("autostart, startsecs, autorestart, exitcodes, startretries, stopsignal, stopwaitsecs", () => {
    const { c, toml } = program(`command=x\nautostart=false\nstartsecs=5\nautorestart=true\nexitcodes=0, 2\nstartretries=2\nstopsignal=INT\nstopwaitsecs=30\n`);
    expect(c).toEqual({ command: ["x"], autostart: false, startsecs: 5, restart: "always", success_exit_codes: [0, 2], max_restarts: 3, stop_signal: "SIGINT", stop_timeout: 30 });
    expect(toml).toContain("max_restarts = 3  # startretries = 2: FATAL after 3 failed runs in a row (see the note above)");
    expect(program(`command=x\nautorestart=unexpected`).c.restart).toBe("on-failure");
    expect(program(`command=x\nautorestart=off`).toml).toContain(`restart = "never"  # supervisord still retried a start that failed within startsecs; sup does not`);
    expect(program(`command=x\nstopsignal=9`).c.stop_signal).toBe("SIGKILL");
    const bad = sd(`[program:web]\ncommand=x\nautostart=maybe\nautorestart=sometimes\nstopsignal=TRM\nexitcodes=0,300\nstartsecs=1.5\n`);
    expect(bad.warnings).toEqual([
      `[program:web] key 'startsecs': not a whole number ("1.5"; supervisord refuses it): skipped (supervisord.conf:7)`,
      `[program:web] key 'autostart': not true or false ("maybe"; supervisord refuses it): skipped (supervisord.conf:3)`,
      `[program:web] key 'autorestart': "sometimes" is not true, false or unexpected (supervisord refuses it): skipped (supervisord.conf:4)`,
      `[program:web] key 'exitcodes': "0,300" is not a list of exit codes 0-255: skipped (supervisord.conf:6)`,
      `[program:web] key 'stopsignal': "TRM" is not a signal: skipped (supervisord.conf:5)`,
    ].sort((a, b) => Number(/:(\d+)\)$/.exec(a)![1]) - Number(/:(\d+)\)$/.exec(b)![1])));
    valid(bad.toml);
  });

  test("supervisord's defaults that differ from sup's go to [defaults]", () => {
    const r = sd(`[program:web]\ncommand=x\n`);
    expect(parsed(r.toml).defaults).toEqual({ restart: "on-failure", max_restarts: 4 });
    const spec = valid(r.toml).companions[0]!;
    expect({ restart: spec.restart, max: spec.maxRestarts, stop: spec.stopTimeoutMs, startsecs: spec.startsecsMs }).toEqual({ restart: "on-failure", max: 4, stop: 10_000, startsecs: 1000 });
  });

  test("stopasgroup / killasgroup: a comment, sup always signals the tree; user, umask", () => {
    const { c, toml, warnings } = program(`command=x\nstopasgroup=true\nkillasgroup=true\nuser=www-data\numask=002\n`);
    expect(toml).toContain("# stopasgroup = true, killasgroup = true: sup always signals the whole process tree");
    expect(c).toMatchObject({ user: "www-data", umask: "002" });
    expect(warnings).toEqual([]);
    expect(program(`command=x\nuser=33\numask=0o27`).c).toMatchObject({ user: 33, umask: "027" });
    const r = sd(`[program:web]\ncommand=x\nuser=%(ENV_APP_USER)s\numask=999\n[program:two]\ncommand=x\nuser=a b\n`, { env: { ...ENV, APP_USER: "deploy" } });
    expect(parsed(r.toml).companions.web!.user).toBe("deploy");
    expect(parsed(r.toml).companions.two!.user).toBeUndefined();
    expect(r.warnings).toEqual([
      `[program:web] key 'user': %(ENV_APP_USER)s is written as its value here ("deploy"): sup does not expand variables in this key (supervisord.conf:3)`,
      `[program:web] key 'umask': "999" is not an octal umask like 022: skipped (supervisord.conf:4)`,
      `[program:two] key 'user': "a b" is not a user name or id: skipped (supervisord.conf:7)`,
    ]);
  });

  test("numprocs -> instances; process_num becomes ${SUP_INSTANCE}; names become NAME.1 … NAME.N", () => {
    const { c, warnings } = program(
      `command=celery worker -n w%(process_num)02d@%%h\nprocess_name=%(program_name)s_%(process_num)02d\nnumprocs=3\nenvironment=SLOT="%(process_num)d"\n`,
      {},
      "worker",
    );
    expect(c).toMatchObject({ command: ["celery", "worker", "-n", "w${SUP_INSTANCE}@%h"], instances: 3, env: { SLOT: "${SUP_INSTANCE}" } });
    expect(warnings).toEqual([
      "[program:worker] key 'command': %(process_num)02d becomes ${SUP_INSTANCE} (here and in every key), which counts 1 … 3 (supervisord: 00 … 02) (supervisord.conf:2)",
      "[program:worker] key 'numprocs': 3 instances, named worker.1 … worker.3 (supervisord: worker_00 … worker_02) (supervisord.conf:4)",
    ]);
    const specs = valid(sd(`[program:worker]\ncommand=celery -n w%(process_num)d\nprocess_name=%(process_num)d\nnumprocs=2\n`).toml).companions;
    expect(specs.map((s) => [s.name, s.argv])).toEqual([
      ["worker.1", ["celery", "-n", "w1"]],
      ["worker.2", ["celery", "-n", "w2"]],
    ]);
    // numprocs = 1: process_num is numprocs_start, written as it is
    expect(program(`command=x %(process_num)d\nnumprocs_start=7`).c.command).toEqual(["x", "7"]);
    // a process_name of its own is said
    expect(program(`command=x\nprocess_name=other`).warnings).toEqual(["[program:web] key 'process_name': the process was named other; the companion is named after the program, web (supervisord.conf:3)"]);
    expect(sd(`[program:w]\ncommand=x\nnumprocs=2\n`).warnings).toContain("[program:w] key 'process_name' lacks %(process_num) with numprocs = 2 (supervisord refuses this) (supervisord.conf:1)");
    expect(sd(`[program:w]\ncommand=x\nnumprocs=0\n`).companions).toEqual([]);
  });

  test("stderr_logfile = /dev/stdout: with stdout on sup's stdout, stderr follows it; else it is captured (on sup's stdout as name | line), said", () => {
    const both = program(`command=x\nstdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nstderr_logfile=/dev/stdout\nstderr_logfile_maxbytes=0\n`);
    expect(both.c).toMatchObject({ stdout: "inherit", stderr: "stdout" });
    const alone = program(`command=x\nstdout_logfile=NONE\nstderr_logfile=/dev/stdout\nstderr_logfile_maxbytes=0\n`);
    expect(alone.c.stdout).toBe("null");
    expect(alone.c.stderr).toBeUndefined();
    expect(alone.warnings.some((w) => w.includes("key 'stderr_logfile' = /dev/stdout: stderr is captured"))).toBe(true);
  });

  test("a program named like another's instance (x.1 beside x with numprocs = 2) gets a name of its own", () => {
    const r = sd(`[program:x]\ncommand=sleep 1\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)s\n[program:x.1]\ncommand=sleep 2\n`);
    const cfg = valid(r.toml);
    expect(cfg.companions.map((c) => c.name).sort()).toEqual(["x.1", "x.1_2", "x.2"]);
    expect(r.warnings.some((w) => w.startsWith("[program:x.1] is named x.1_2 in sup"))).toBe(true);
  });

  test("redirect_stderr and a rotated stdout_logfile: log_file with sup's units (supervisord's MB is MiB)", () => {
    const { c, toml, warnings } = program(`command=x\nstdout_logfile=%(here)s/logs/web.log\nstdout_logfile_maxbytes=20MB\nstdout_logfile_backups=5\nredirect_stderr=true\nstderr_logfile=/var/log/ignored.log\n`);
    expect(c).toEqual({ command: ["x"], stderr: "stdout", log_file: "./logs/web.log", log_max_bytes: "20MiB", log_backups: 5 });
    expect(toml).toContain(`log_file = "./logs/web.log"  # stdout_logfile, rotated as supervisord did`);
    expect(warnings).toEqual([`[program:web] key 'stderr_logfile': ignored, as supervisord ignores it: redirect_stderr = true sends stderr where stdout goes (supervisord.conf:7)`]);
    const spec = valid(toml).companions[0]!;
    expect({ stdout: spec.stdout, stderr: spec.stderr, log: spec.log.file, max: spec.log.maxBytes, backups: spec.log.backups }).toEqual({
      stdout: { kind: "capture" },
      stderr: { kind: "stdout" },
      log: `${DIR}/logs/web.log`,
      max: 20 * 1024 * 1024,
      backups: 5,
    });
    // supervisord's defaults are written out: 50MB is 50 MiB, 10 backups
    expect(program(`command=x\nstdout_logfile=/var/log/web.log\nredirect_stderr=true`).c).toMatchObject({ log_max_bytes: "50MiB", log_backups: 10 });
    expect(program(`command=x\nstdout_logfile=/var/log/web.log\nstdout_logfile_maxbytes=1000\nredirect_stderr=true`).c.log_max_bytes).toBe(1000);
  });

  test("logs not rotated are written directly; NONE is null; /dev/stdout is inherit", () => {
    expect(program(`command=x\nstdout_logfile=/var/log/a.log\nstdout_logfile_maxbytes=0\nredirect_stderr=true`).c).toMatchObject({ stdout: "/var/log/a.log", stderr: "stdout" });
    expect(program(`command=x\nstdout_logfile=NONE\nstderr_logfile=off`).c).toMatchObject({ stdout: "null", stderr: "null" });
    const docker = program(`command=x\nstdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nstderr_logfile=/dev/stderr\nstderr_logfile_maxbytes=0`);
    expect(docker.c).toEqual({ command: ["x"], stdout: "inherit", stderr: "inherit" });
    expect(docker.warnings).toEqual([]);
    expect(program(`command=x\nstdout_logfile=AUTO\nstderr_logfile=auto`).c).toEqual({ command: ["x"] });
  });

  test("two rotated files: stdout gets log_file, stderr its file unrotated, and that is said", () => {
    const { c, warnings } = program(`command=x\nstdout_logfile=/var/log/w.out\nstderr_logfile=/var/log/w.err\nstderr_logfile_maxbytes=10MB\n`);
    expect(c).toMatchObject({ stderr: "/var/log/w.err", log_file: "/var/log/w.out", log_max_bytes: "50MiB" });
    expect(warnings).toEqual([
      "[program:web] key 'stderr_logfile_maxbytes': sup rotates one file per companion (log_file, here stdout's): stderr is written to /var/log/w.err directly and not rotated (logrotate with copytruncate can) (supervisord.conf:5)",
    ]);
    // stdout in a file, stderr AUTO: it is captured too, into the same log_file
    expect(program(`command=x\nstdout_logfile=/var/log/w.out`).warnings).toEqual([
      "[program:web] key 'stdout_logfile': stderr (supervisord: AUTO, a file apart) is captured too, so it also goes to /var/log/w.out; set stderr_logfile to keep it apart (supervisord.conf:3)",
    ]);
    // only stderr rotated: it takes log_file
    expect(program(`command=x\nstdout_logfile=NONE\nstderr_logfile=/var/log/w.err`).c).toMatchObject({ stdout: "null", log_file: "/var/log/w.err" });
  });

  test("keys with no sup equivalent are reported with their line; defaults and unknown keys too", () => {
    const r = sd(
      [
        "[program:web]", // 1
        "command=x", // 2
        "serverurl=AUTO", // 3: the default, nothing to say
        "stdout_events_enabled=true", // 4
        "stderr_capture_maxbytes=1MB", // 5
        "stdout_syslog=true", // 6
        "stdout_capture_maxbytes=0", // 7: the default
        "comand=typo", // 8
        "serverurl=http://127.0.0.1:9001", // 9: overrides line 3
      ].join("\n"),
    );
    expect(r.warnings).toEqual([
      "[program:web] key 'stdout_events_enabled' has no sup equivalent: no log events (sup ctl logs -f follows the output) (supervisord.conf:4)",
      "[program:web] key 'stderr_capture_maxbytes' has no sup equivalent: no process communication events (sup ctl events streams state changes) (supervisord.conf:5)",
      "[program:web] key 'stdout_syslog' has no sup equivalent: no syslog output (the output is captured: sup ctl logs, or log_file) (supervisord.conf:6)",
      "[program:web] key 'comand' has no sup equivalent: not a supervisord program key (did you mean 'command'?), ignored by supervisord too (supervisord.conf:8)",
      "[program:web] key 'serverurl' has no sup equivalent: no XML-RPC server (sup ctl talks to sup's socket; SUPERVISOR_SERVER_URL is not set) (supervisord.conf:9)",
    ]);
    valid(r.toml);
  });

  test("program names sup cannot take are renamed and said", () => {
    const r = sd(`[program:all]\ncommand=x\n[program:web@2]\ncommand=y\n[program:web_2]\ncommand=z\n`);
    expect(r.companions).toEqual(["all_", "web_2", "web_2_2"]);
    expect(r.warnings).toContain(`[program:web@2] is named web_2 in sup (names are letters, digits, "-", "_", "."; "all" is reserved) (supervisord.conf:3)`);
    valid(r.toml);
  });
});

describe("the file as supervisord reads it", () => {
  test("inline comments need whitespace before them; : is a delimiter; keys are case-blind", () => {
    const { c } = program(`COMMAND: /bin/echo a;b #c ;d\nDirectory = /tmp ; the folder\n`);
    expect(c).toEqual({ command: ["/bin/echo", "a;b"], cwd: "/tmp" });
    // configparser looks for ; and # round by round: a # after whitespace wins over a later " ;"
    expect(program(`command=/bin/echo a;b;c #x ;y`).c.command).toEqual(["/bin/echo", "a;b;c"]);
  });

  test("continuation lines join a value; a comment line inside is skipped", () => {
    const { c } = program(`command=/bin/run\n    --one\n; a comment\n    --two\nautostart=false\n`);
    expect(c).toEqual({ command: ["/bin/run", "--one", "--two"], autostart: false });
  });

  test("[supervisord]: environment and umask go to [defaults]; the rest is said in one or a few lines", () => {
    const r = sd(
      [
        "[supervisord]", // 1
        "logfile=/var/log/supervisord.log", // 2
        "pidfile=/run/supervisord.pid", // 3
        "nodaemon=true", // 4
        "umask=027", // 5
        'environment=TZ="UTC",A="%(ENV_HOME)s"', // 6
        "minfds=65536", // 7
        "user=app", // 8
        "[program:web]", // 9
        "command=x", // 10
      ].join("\n"),
    );
    expect(parsed(r.toml).defaults).toEqual({ restart: "on-failure", max_restarts: 4, umask: "027", env: { TZ: "UTC", A: "${HOME}" } });
    expect(r.warnings).toEqual([
      "[supervisord] keys 'logfile', 'pidfile', 'nodaemon' have no sup equivalent: sup runs in the foreground, logs to stderr and writes no pid file (supervisord.conf:1)",
      "[supervisord] key 'minfds' has no sup equivalent: sup does not raise its own limits; [defaults] limits = { nofile = 65536 } sets the companions' (supervisord.conf:7)",
      "[supervisord] key 'user' has no sup equivalent: run sup itself as app (or set user per companion; sup must be root for that) (supervisord.conf:8)",
    ]);
    expect(valid(r.toml).companions[0]!.env).toEqual({ TZ: "UTC", A: "/home/app" });
  });

  test("server, ctl, rpc, event listener, fcgi and unknown sections: one warning each", () => {
    const r = sd(
      [
        "[unix_http_server]", // 1
        "file=/tmp/s.sock", // 2
        "[inet_http_server]", // 3
        "port=127.0.0.1:9001", // 4
        "[supervisorctl]", // 5
        "[rpcinterface:supervisor]", // 6
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", // 7
        "[eventlistener:crash]", // 8
        "command=crashmail", // 9
        "[fcgi-program:php]", // 10
        "command=php-cgi", // 11
        "[programs:typo]", // 12
        "[program:web]", // 13
        "command=x", // 14
      ].join("\n"),
    );
    expect(r.companions).toEqual(["web"]);
    expect(r.warnings).toEqual([
      "[unix_http_server] has no sup equivalent ('file' not imported): sup's control socket is [sup] socket (default sup.sock beside sup.toml, mode 0600; socket_group for 0660), spoken by sup ctl (supervisord.conf:1)",
      "[inet_http_server] has no sup equivalent ('port' not imported): sup has no HTTP control server; [sup] metrics serves GET /metrics (supervisord.conf:3)",
      "[supervisorctl] has no sup equivalent ( not imported): sup ctl finds the socket through sup.toml (-c) or -s (supervisord.conf:5)",
      "[rpcinterface:supervisor] has no sup equivalent: sup has no XML-RPC interface and no plugins (supervisord.conf:6)",
      "[eventlistener:crash] has no sup equivalent: event listeners are not imported; sup ctl events --json streams every state change (supervisord.conf:8)",
      "[fcgi-program:php] has no sup equivalent: FastCGI programs are not imported (sup opens no sockets for its companions) (supervisord.conf:10)",
      "[programs:typo] is not a supervisord section: ignored, as supervisord ignores it (supervisord.conf:12)",
    ]);
  });

  test("[include] files are read relative to the file, sorted, with their own %(here)s; a miss is said", () => {
    const r = sd(`[supervisord]\n[include]\nfiles = conf.d/*.conf /etc/extra/none.conf\n`, {
      files: {
        [`${DIR}/conf.d/b.conf`]: `[program:b]\ncommand=%(here)s/run-b\n`,
        [`${DIR}/conf.d/a.conf`]: `[program:a]\ncommand=run-a\nfoo=1\n`,
        [`${DIR}/conf.d/notes.txt`]: `[program:txt]\ncommand=x\n`,
      },
    });
    expect(r.companions).toEqual(["a", "b"]);
    expect(parsed(r.toml).companions.b!.command).toEqual([`${DIR}/conf.d/run-b`]);
    expect(r.warnings).toEqual([
      "[include] /etc/extra/none.conf matches no file (supervisord says so too) (supervisord.conf:3)",
      "[program:a] key 'foo' has no sup equivalent: not a supervisord program key, ignored by supervisord too (conf.d/a.conf:3)",
    ]);
  });

  test("[group:x]: a comment and a warning (sup has no groups); its priority orders its members", () => {
    const r = sd(
      [
        "[program:zeta]", // 1
        "command=x", // 2
        "[program:web]", // 3
        "command=x", // 4
        "priority=500", // 5
        "[program:worker]", // 6
        "command=x", // 7
        "priority=20", // 8
        "[program:beat]", // 9
        "command=x", // 10
        "priority=10", // 11
        "[program:alpha]", // 12
        "command=x", // 13
        "[program:first]", // 14
        "command=x", // 15
        "priority=-5", // 16
        "[group:celery]", // 17
        "programs=worker,beat,ghost", // 18
        "priority=100", // 19
      ].join("\n"),
    );
    // supervisord's order: groups and lone programs by priority, then name; members likewise
    expect(r.companions).toEqual(["first", "beat", "worker", "web", "alpha", "zeta"]);
    expect(r.toml).toContain("# [group:celery] programs = worker, beat, priority = 100: sup has no groups (sup ctl restart worker beat)\n# supervisord priority = 10\n[companions.beat]");
    expect(r.warnings).toContain("[group:celery] names ghost, which has no [program:ghost] (supervisord refuses this): left out (supervisord.conf:18)");
    expect(r.warnings).toContain("[group:celery] sup has no groups: worker, beat are imported as companions of their own (act on them together: sup ctl restart worker beat) (supervisord.conf:17)");
    expect(valid(r.toml).companions.map((c) => c.name)).toEqual(r.companions);
  });

  test("a file without programs says so", () => {
    expect(sd(`[supervisord]\n`).warnings).toEqual(["no [program:x] found in supervisord.conf: the file has no companion (sup check refuses a file without one)"]);
  });

  test("the test fixture (Django + Celery) imports into a valid sup.toml", async () => {
    const text = await Bun.file(`${import.meta.dir}/../fixtures/import/supervisord.conf`).text();
    const r = sd(text);
    expect(r.companions).toEqual(["web", "worker", "beat", "flower"]);
    const c = valid(r.toml).companions;
    expect(c.map((x) => x.name)).toEqual(["web", "worker.1", "worker.2", "beat", "flower"]);
    const web = c[0]!;
    expect(web.env).toMatchObject({ LANG: "C.UTF-8", DATABASE_URL: "postgres://app:s3cr,et@localhost/app", HOME: "/home/app", GREETING: 'say "hi"; then $go' });
    expect(c[1]!.argv).toEqual(["sh", "-c", 'echo "celery worker $0 up"; exec sleep 3600', "worker1@%h"]);
    expect(c[1]!.log.file).toBe(`${DIR}/logs/worker_1.log`);
  });
});

describe("Procfile", () => {
  const PROC = `${DIR}/Procfile`;
  const pf = (text: string, dotenv: string | null = null, outDir = DIR) =>
    fromProcfile({ file: PROC, text, outDir, dotenv: dotenv === null ? null : { path: `${DIR}/.env`, text: dotenv }, show: (p) => p.slice(DIR.length + 1) });

  test("one companion per line, commands as shell lines, foreman's PORT; comments and bad lines", () => {
    const r = pf(`# processes\nweb: bundle exec puma -p $PORT -C config/puma.rb\n\nworker:  sh -c 'echo "x"; sleep 1'\nnot a process line\n-dash: x\nempty: \n`);
    expect(r.companions).toEqual(["web", "worker", "_-dash"]);
    const raw = parsed(r.toml);
    expect(raw.companions).toEqual({
      web: { command: "bundle exec puma -p $PORT -C config/puma.rb", env: { PORT: "5000" } },
      worker: { command: `sh -c 'echo "x"; sleep 1'`, env: { PORT: "5100" } },
      "_-dash": { command: "x", env: { PORT: "5200" } },
    });
    expect(r.warnings).toEqual([
      'line 5 is not "name: command" (foreman skips it too): "not a process line" (Procfile:5)',
      '-dash is named _-dash in sup (names start with a letter, digit or "_"; "all" is reserved) (Procfile:6)',
      'line 7 gives empty no command: skipped (Procfile:7)',
    ]);
    expect(r.toml).toContain(`env = { PORT = "5100" }  # foreman's PORT: 5000 + 100 × 1`);
    expect(r.toml).toContain("# fail_fast = true");
    const c = valid(r.toml).companions;
    expect(c[0]!.argv).toEqual(["/bin/sh", "-c", "bundle exec puma -p $PORT -C config/puma.rb"]); // the shell expands $PORT
  });

  test(".env beside it: env_file relative to where sup.toml lives; its PORT is the base port", () => {
    const dotenv = `PORT=3000\nSECRET="a b"\n`;
    const read = (path: string) => (path === `${DIR}/.env` ? { ok: true as const, text: dotenv } : { ok: false as const, missing: true, why: "no such file" });
    const r = pf(`web: run-web\nworker: run-worker\n`, dotenv);
    expect(parsed(r.toml).defaults).toEqual({ env_file: ".env" });
    const c = valid(r.toml, { vars: ENV, read }).companions;
    expect(c.map((x) => [x.name, x.env.PORT, x.env.SECRET])).toEqual([
      ["web", "3000", "a b"],
      ["worker", "3100", "a b"],
    ]);
    expect(parsed(pf(`web: x\n`, dotenv, "/etc/sup").toml).defaults).toEqual({ env_file: "../../srv/app/.env" });
    expect(parsed(pf(`web: x\n`).toml).defaults).toBeUndefined();
  });

  test("names: a second one is left out, all is renamed, release runs once", () => {
    const r = pf(`web: a\nweb: b\nall: c\nrelease: ./migrate\n`);
    expect(r.companions).toEqual(["web", "all_", "release"]);
    expect(parsed(r.toml).companions.release).toEqual({ command: "./migrate", env: { PORT: "5200" }, restart: "never" });
    expect(r.warnings[0]).toBe("web is named twice: the second line is left out (Procfile:2)");
    valid(r.toml);
  });
});

describe("format detection", () => {
  test("a Procfile by name or by content; supervisord by any of its sections; else nothing", () => {
    expect(detect("/x/Procfile.dev", "[program:x]\n")).toBe("procfile");
    expect(detect("/x/apps", "web: run\n# c\nworker: go\n")).toBe("procfile");
    expect(detect("/x/a.conf", "; c\n[program:web]\ncommand=x\n")).toBe("supervisord");
    expect(detect("/x/a.conf", "[supervisord]\n[include]\nfiles=*.conf\n")).toBe("supervisord");
    expect(detect("/x/sup.toml", '[companions.web]\ncommand = "x"\n')).toBeNull();
    expect(detect("/x/empty", "")).toBeNull();
    expect(detect("/x/compose.yml", "services:\n  web:\n    image: x\n")).toBeNull();
  });
});
