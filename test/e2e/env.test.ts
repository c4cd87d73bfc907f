// env_file and interpolation with the compiled binary (contract §3, §12): a companion sees its
// env files' values, ${...} expanded from sup's environment and SUP_NAME; a change of only an
// env file restarts the companions that read it at reread, and no other.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { SupFixture } from "../helpers/sup.ts";

setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

const lines = (n: number) => (t: string) => t.split("\n").filter(Boolean).length >= n;

test("values from env files, interpolation and SUP_NAME reach the companion", async () => {
  f = new SupFixture(`
[defaults]
startsecs = 0
env_file = [".env", "-.env.local"]
env = { SUP_T_BASE = "base-\${SUP_T_OUTER}" }

[companions.web]
command = "print-env SUP_T_FILE SUP_T_MULTI SUP_T_QUOTED SUP_T_URL SUP_T_BASE SUP_NAME SUP_T_LITERAL"
stdout = "\${SUP_T_OUTER}-\${SUP_NAME}.log"
env = { SUP_T_URL = "http://\${SUP_T_FILE}:\${SUP_T_PORT:-8080}/\${SUP_NAME}", SUP_T_LITERAL = "$$HOME" }

[companions.argv]
command = ["sh", "-c", "echo \\"$1 $SUP_NAME\\" > argv.out; exec sleep 1000000", "sh", "\${SUP_T_FILE}-\${SUP_NAME}"]
`);
  f.write('export SUP_T_FILE=db.local\nSUP_T_MULTI="one\ntwo"\nSUP_T_QUOTED=\'a $b # c\'\n', ".env");
  await f.start({ env: { SUP_T_OUTER: "outer" } });
  const out = await f.waitFile("outer-web.log", "to list 8 lines", lines(8));
  expect(out).toBe(
    [
      "SUP_T_FILE=db.local",
      "SUP_T_MULTI=one",
      "two",
      "SUP_T_QUOTED=a $b # c",
      "SUP_T_URL=http://db.local:8080/web",
      "SUP_T_BASE=base-outer",
      "SUP_NAME=web",
      "SUP_T_LITERAL=$HOME",
      "",
    ].join("\n"),
  );
  expect(await f.waitFile("argv.out", "to be written", lines(1))).toBe("db.local-argv argv\n");
});

test("a missing env file and an unset variable: sup check and sup run refuse the config, naming the key paths", async () => {
  f = new SupFixture(`
[companions.web]
command = "forever"
env_file = "web.env"
env = { URL = "\${SUP_T_SURELY_UNSET}" }
`);
  const r = await f.sup(["check", "-c", f.config]);
  expect(r.code).toBe(2);
  expect(r.stderr + r.stdout).toContain(`companions.web.env_file: cannot read env file ${f.path("web.env")}: no such file (write "-web.env" if it is optional)`);
  expect(r.stderr + r.stdout).toContain("companions.web.env.URL: ${SUP_T_SURELY_UNSET} is not set");
  const run = await f.sup(["run", "-c", f.config]);
  expect(run.code).not.toBe(0);
  expect(run.stderr).toContain("companions.web.env_file: cannot read env file");
  expect(f.census().length).toBe(0);
});

test("reread after a change of only an env file restarts the companions that read it, and no other", async () => {
  const toml = `
[defaults]
startsecs = 0
stop_timeout = 5
reload_timeout = 5

[companions.reader]
command = "print-env SUP_T_V"
env_file = "app.env"
stdout = "reader.log"

[companions.other]
command = "print-env SUP_T_V"
env_file = "-absent.env"
stdout = "other.log"
`;
  f = new SupFixture(toml);
  f.write("SUP_T_V=1\n", "app.env");
  await f.start();
  const before = await f.allRunning(["reader", "other"]);
  await f.waitFile("reader.log", "to show SUP_T_V=1", (t) => t.includes("SUP_T_V=1\n"));

  // a comment only: what the file sets is the same, nothing restarts
  f.write("# the same\nSUP_T_V=1\n", "app.env");
  expect(await f.request({ cmd: "reread" })).toMatchObject({ ok: true, restarted: [], unchanged: ["other", "reader"] });

  f.write("SUP_T_V=2\n", "app.env");
  expect(await f.request({ cmd: "reread" })).toMatchObject({ ok: true, added: [], removed: [], restarted: ["reader"], unchanged: ["other"] });
  const after = await f.waitEntry("reader", "to run with a new pid", (e) => e.state === "RUNNING" && e.pid !== before.reader);
  expect(after.pid).not.toBe(before.reader!);
  await f.waitFile("reader.log", "to show SUP_T_V=2", (t) => t.includes("SUP_T_V=2\n"));
  expect((await f.entry("other")).pid).toBe(before.other!);

  // the file gone: the reread is refused and changes nothing
  const { rmSync } = await import("node:fs");
  rmSync(f.path("app.env"));
  const refused = await f.request({ cmd: "reread" });
  expect(refused.ok).toBe(false);
  expect(JSON.stringify(refused)).toContain("companions.reader.env_file: cannot read env file");
  expect((await f.entry("reader")).pid).toBe(after.pid!);
});
