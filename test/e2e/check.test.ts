// `sup check` against this machine (exit 0 / 1 / 2, problems sorted by line, nothing changed)
// and `sup init` (a starter file that check accepts, never overwritten), on the real binary.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { SupFixture } from "../helpers/sup.ts";

setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

describe("sup check", () => {
  test("valid, and every companion can start here: exit 0, one line, nothing made", async () => {
    f = new SupFixture(`[companions.web]\ncommand = "forever"\n[companions.worker]\ncommand = ["forever"]\n[companions.cron]\ncommand = "forever > /dev/null"\n`);
    const before = readdirSync(f.dir).sort();
    const r = await f.sup(["check"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 0,
      stdout: `${f.config}: valid; 3 companions: web, worker, cron; this machine: ok\n`,
      stderr: "",
    });
    expect(readdirSync(f.dir).sort()).toEqual(before);
    expect(existsSync(f.socket)).toBe(false);
  });

  test("valid, but companions would be FATAL here: exit 1, each problem with key path and line, sorted by line", async () => {
    f = new SupFixture(
      [
        `[defaults]`, // 1
        `log_file = "nologs/{name}.log"`, // 2
        `[companions.web]`, // 3
        `command = "pyhton3 -m http.server"`, // 4
        `[companions.worker]`, // 5
        `cwd = "missing"`, // 6
        `command = ["forever"]`, // 7
        `[companions.shell]`, // 8
        `command = "nosuchprog > out.log"`, // 9
        `stdout = "gone/x.log"`, // 10
        `[companions.ok]`, // 11
        `command = "forever"`, // 12
        `user = "no-such-user-sup-check"`, // 13
        `[companions.path]`, // 14
        `command = ["forever"]`, // 15
        `env = { PATH = "/nonexistent" }`, // 16
      ].join("\n") + "\n",
    );
    const r = await f.sup(["check", "-c", f.config]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const at = (n: number) => `(${f.config}:${n})`;
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(`${f.config}: valid; 5 companions: web, worker, shell, ok, path; 7 problems on this machine:`);
    const uid = process.getuid!();
    expect(lines.slice(1, -1).map((l) => l.replace(/ \(not on sup's PATH=[^)]*\)/, ""))).toEqual([
      `  defaults.log_file: log folder not found: ${f.path("nologs")} ${at(2)}`,
      `  companions.web.command: command not found: pyhton3 ${at(4)}`,
      `  companions.worker.cwd: cwd not found: ${f.path("missing")} ${at(6)}`,
      `  companions.shell.command: command not found: nosuchprog ${at(9)}`,
      `  companions.shell.stdout: log folder not found: ${f.path("gone")} ${at(10)}`,
      uid === 0
        ? `  companions.ok.user: unknown user "no-such-user-sup-check" (not in /etc/passwd) ${at(13)}`
        : `  companions.ok.user: sup runs as uid ${uid}, not root: it cannot run companions as another user ${at(13)}`,
      `  companions.path.command: command not found: forever (not on its env's PATH=/nonexistent) ${at(15)}`,
    ]);
    expect(lines.at(-1)).toBe("nothing was started or changed");
    expect(r.stderr).not.toContain("reload");
    expect(existsSync(f.path("nologs"))).toBe(false);
    // sup run still refuses the unknown user as a config error, as before
    const run = await f.sup(["run", "-c", f.config]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("companions.ok.user");
    expect(f.census()).toEqual([]);
  });

  test("invalid: exit 2 with the file's problems only, sorted by line; misplaced keys and a misspelt table", async () => {
    f = new SupFixture(
      [
        `[supp]`, // 1
        `socket = "x"`, // 2
        `[companion.web]`, // 3
        `command = "forever"`, // 4
        `[companions.api]`, // 5
        `command = "nosuchprog"`, // 6
        `graceful_timeout = 5`, // 7
        `[sup]`, // 8
        `startsecs = 1`, // 9
        `[defaults]`, // 10
        `stderr = "stdot"`, // 11
      ].join("\n") + "\n",
    );
    const r = await f.sup(["check", "-c", f.config]);
    expect(r.code).toBe(2);
    const at = (n: number) => `(${f.config}:${n})`;
    expect(r.stderr.trimEnd().split("\n")).toEqual([
      `${f.config}: 5 problem(s):`,
      `  supp: unknown table (did you mean [sup]?) ${at(1)}`,
      `  companion: unknown table (did you mean [companions.web]?) ${at(3)}`,
      `  companions.api.graceful_timeout: belongs in [sup] ${at(7)}`,
      `  sup.startsecs: belongs in [defaults] or [companions.NAME] ${at(9)}`,
      `  defaults.stderr: unknown value "stdot" (did you mean "stdout"?): use "capture", "inherit", "null", "stdout", or a file path with a "/" or a "." (e.g. "./stdot.log") ${at(11)}`,
    ]);
  });
});

describe("sup init", () => {
  test("writes a starter that check accepts, also with every commented key uncommented; never overwrites", async () => {
    f = new SupFixture();
    const r = await f.sup(["init"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`wrote ${f.config}: one companion, hello; edit it, then: sup check && sup run\n`);
    const text = f.read("sup.toml");
    expect(text).toContain("[companions.hello]");
    const check = await f.sup(["check"]);
    expect({ code: check.code, out: check.stdout }).toEqual({ code: 0, out: `${f.config}: valid; 1 companion: hello; this machine: ok\n` });

    // the comments are a menu: every `# key = value` line uncommented stays valid
    f.write(text.replace(/^# ([a-z_]+ = .*)$/gm, "$1"), "all.toml");
    expect(f.read("all.toml")).toContain('\nstop_signal = "SIGTERM"');
    const all = await f.sup(["check", "-c", f.path("all.toml")]);
    expect({ code: all.code, err: all.stderr }).toEqual({ code: 0, err: "" });

    f.write("keep me\n", "sup.toml");
    const again = await f.sup(["init"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`sup: not written: ${f.config}: it exists already; sup init never overwrites (name another file: sup init FILE)\n`);
    expect(f.read("sup.toml")).toBe("keep me\n");
  });

  test("FILE, -c and $SUP_CONFIG name the file; a missing folder is exit 1; two files is a usage error", async () => {
    f = new SupFixture();
    expect((await f.sup(["init", "a.toml"])).code).toBe(0);
    expect((await f.sup(["init", "-c", "b.toml"])).code).toBe(0);
    const viaEnv = await f.sup(["init"], { env: { SUP_CONFIG: f.path("c.toml") } });
    expect(viaEnv.stdout).toBe(`wrote ${f.path("c.toml")}: one companion, hello; edit it, then: sup check && sup run\n`);
    for (const name of ["a.toml", "b.toml", "c.toml"]) expect((await f.sup(["check", "-c", f.path(name)])).code).toBe(0);
    const missing = await f.sup(["init", "no/such/dir/sup.toml"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("its folder does not exist");
    expect((await f.sup(["init", "x.toml", "y.toml"])).code).toBe(2);
    expect((await f.sup(["init", "--help"])).stdout).toContain("never overwrites");
  });
});
