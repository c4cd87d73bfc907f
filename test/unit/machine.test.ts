// Checks of a valid config against this machine (sup check, exit 1): the program on the
// companion's PATH, the shell and the first program of a shell string, cwd, log folders.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firstProgram, machineProblems } from "../../src/config/machine.ts";
import { validateConfig } from "../../src/config/validate.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** a temp folder with bin/ok (executable) and bin/noexec (not), and the problems of `companions` */
function check(companions: Record<string, Record<string, unknown>>, defaults: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const d = mkdtempSync(join(tmpdir(), "sup-machine-"));
  dirs.push(d);
  mkdirSync(join(d, "bin"));
  writeFileSync(join(d, "bin/ok"), "#!/bin/sh\n");
  chmodSync(join(d, "bin/ok"), 0o755);
  writeFileSync(join(d, "bin/noexec"), "");
  writeFileSync(join(d, "file"), "");
  mkdirSync(join(d, "logs"));
  const r = validateConfig({ defaults, companions }, join(d, "sup.toml"));
  if (!r.ok) throw new Error(r.problems.join("\n"));
  const home = (name: string, key: string) => (companions[name]?.[key] === undefined && defaults[key] !== undefined ? ["defaults", key] : ["companions", name, key]);
  const problems = machineProblems(r.config, home, { PATH: `${join(d, "bin")}:/usr/bin:/bin`, ...env });
  return { d, got: problems.map((p) => `${p.path.join(".")}: ${p.message}`) };
}

test("a valid machine: programs on PATH, relative and absolute, shell strings, folders that exist", () => {
  const { got } = check({
    a: { command: ["ok", "x"] },
    b: { command: "ok --flag" },
    c: { command: "ok > out.log 2>&1" },
    d: { command: ["./bin/ok"] },
    e: { command: "while true; do sleep 1; done" },
    f: { command: ["sh", "-c", "exit 0"], stdout: "logs/f.log", stderr: "logs/f.err", log_file: "logs/{name}.log" },
  });
  expect(got).toEqual([]);
});

test("command not found or not executable: argv, a plain string, the first program of a shell string", () => {
  const { d, got } = check({
    a: { command: ["pyhton3", "-m", "x"] },
    b: { command: "nosuch --x" },
    c: { command: "nosuch2 | tee x" },
    e: { command: ["noexec"] },
    f: { command: ["./bin/missing"] },
    g: { command: ["bin"], cwd: "." },
    h: { command: [d0()] },
  });
  expect(got[0]).toStartWith(`companions.a.command: command not found: pyhton3 (not on sup's PATH=${join(d, "bin")}:/usr/bin:/bin)`);
  expect(got[1]).toStartWith("companions.b.command: command not found: nosuch ");
  expect(got[2]).toStartWith("companions.c.command: command not found: nosuch2 ");
  expect(got[3]).toBe(`companions.e.command: not executable: ${join(d, "bin/noexec")} (no execute permission), and no other noexec on PATH`);
  expect(got[4]).toBe(`companions.f.command: command not found: ./bin/missing (no file ${join(d, "bin/missing")})`);
  expect(got[5]).toStartWith("companions.g.command: command not found: bin ");
  expect(got[6]).toBe(`companions.h.command: not a program: ${d0()} is a folder`);
  expect(got).toHaveLength(7);
});
/** a folder that exists everywhere */
function d0(): string {
  return tmpdir();
}

test("the companion's env PATH is the one searched, said as its env's", () => {
  const { got } = check({ a: { command: ["ok"], env: { PATH: "/nonexistent" } } });
  expect(got).toEqual(["companions.a.command: command not found: ok (not on its env's PATH=/nonexistent)"]);
  expect(check({ a: { command: ["ok"] } }, { env: { PATH: "/nowhere" } }).got[0]).toContain("its env's PATH=/nowhere");
});

test("cwd missing or not a folder; a [defaults] key named once, where it is written", () => {
  const { d, got } = check({ a: { command: ["ok"], cwd: "nope" }, b: { command: ["ok"], cwd: "file" }, c: { command: ["ok"] }, e: { command: ["ok"] } }, {});
  expect(got).toEqual([`companions.a.cwd: cwd not found: ${join(d, "nope")}`, `companions.b.cwd: cwd is not a folder: ${join(d, "file")}`]);
  const shared = check({ a: { command: ["ok"] }, b: { command: ["ok"] } }, { cwd: "gone" });
  expect(shared.got).toEqual([`defaults.cwd: cwd not found: ${join(shared.d, "gone")}`]);
});

test("log files: a missing folder, a folder where the file should be; log_file only when something is captured", () => {
  const { d, got } = check(
    {
      a: { command: ["ok"], stdout: "nologs/a.log" },
      b: { command: ["ok"], stderr: "logs" + "/" },
      c: { command: ["ok"], stdout: "inherit", stderr: "null" },
      e: { command: ["ok"] },
    },
    { log_file: "missing/{name}.log" },
  );
  expect(got).toEqual([
    `companions.a.stdout: log folder not found: ${join(d, "nologs")}`,
    `defaults.log_file: log folder not found: ${join(d, "missing")}`,
    `companions.b.stderr: log file ${join(d, "logs")} is a folder`,
  ]);
});

test("firstProgram: the program a shell string plainly starts with, else none", () => {
  const cases: [string, string | null][] = [
    ["prog > x", "prog"],
    ["prog;other", "prog"],
    ["exec prog --x", "prog"],
    ["./bin/run | tee", "./bin/run"],
    ["while true; do x; done", null],
    ["FOO=1 prog", null],
    ["$HOME/bin/x", null],
    ["cd app && x", null],
    ["'quoted' x", null],
    ["exec -a name prog", null],
  ];
  for (const [script, want] of cases) expect({ script, got: firstProgram(script) }).toEqual({ script, got: want });
});

test("the socket folders must exist and be writable: sup does not create them", () => {
  const d = mkdtempSync(join(tmpdir(), "sup-machine-"));
  dirs.push(d);
  const problems = (sup: Record<string, unknown>) => {
    const r = validateConfig({ sup, companions: {} }, join(d, "sup.toml"));
    if (!r.ok) throw new Error(r.problems.join("\n"));
    return machineProblems(r.config, () => []).map((p) => `${p.path.join(".")}: ${p.message}`);
  };
  expect(problems({})).toEqual([]);
  expect(problems({ socket: "run/sup.sock", status_socket: "run/status.sock" })).toEqual([
    `sup.socket: the socket folder ${d}/run does not exist (create it, e.g. systemd RuntimeDirectory= or mkdir -p)`,
    `sup.status_socket: the status_socket folder ${d}/run does not exist (create it, e.g. systemd RuntimeDirectory= or mkdir -p)`,
  ]);
  writeFileSync(join(d, "run"), "");
  expect(problems({ socket: "run/sup.sock" })).toEqual([`sup.socket: the socket folder ${d}/run is not a folder`]);
});

test("an exec check's program is looked up like the command: in the companion's cwd and PATH", () => {
  const { got } = check({
    a: { command: ["ok"], ready: { exec: "ok --ping" }, health: { exec: ["nosuchprobe", "-q"] } },
    b: { command: ["ok"], ready: { exec: "pg_isready_nope -q && echo" } },
  });
  expect(got).toEqual([
    expect.stringMatching(/^companions\.a\.health\.exec: command not found: nosuchprobe \(not on sup's PATH=/),
    expect.stringMatching(/^companions\.b\.ready\.exec: command not found: pg_isready_nope \(not on sup's PATH=/),
  ]);
});
