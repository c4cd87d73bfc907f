// `sup import` on the real binary (contract §13): a Django + Celery supervisord.conf and a
// Procfile with its .env become sup.toml files that `sup check` accepts and `sup run` runs;
// -o never overwrites without --force; a file in neither format is refused.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, SupFixture } from "../helpers/sup.ts";

setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

/** the fixture supervisord.conf in a fresh folder, with the folders its programs use */
function supervisordFixture(): SupFixture {
  const fx = new SupFixture();
  copyFileSync(join(FIXTURES, "import/supervisord.conf"), fx.path("supervisord.conf"));
  fx.mkdir("app");
  fx.mkdir("logs");
  return fx;
}

describe("sup import supervisord.conf", () => {
  test("a Django + Celery config: written with warnings, accepted by sup check, run by sup run", async () => {
    f = supervisordFixture();
    const r = await f.sup(["import", "supervisord.conf", "-o", "sup.toml"]);
    expect(r.code).toBe(0);
    const warnings = r.stderr.trimEnd().split("\n");
    expect(warnings.every((w) => w.startsWith("warning: ") && /\(supervisord\.conf:\d+\)$/.test(w))).toBe(true);
    expect(r.stdout).toBe(`wrote sup.toml: 4 companions: web, worker, beat, flower; ${warnings.length} warnings above; next: sup check\n`);
    // what has no equivalent is named, with its line
    const conf = f.read("supervisord.conf").split("\n");
    /** where a line of the fixture is, as the warnings say it */
    const at = (line: string) => `(supervisord.conf:${conf.indexOf(line) + 1})`;
    expect(warnings).toContain(`warning: [supervisord] key 'minfds' has no sup equivalent: sup does not raise its own limits; [defaults] limits = { nofile = 1024 } sets the companions' ${at("minfds=1024")}`);
    expect(warnings).toContain(`warning: [program:flower] key 'stdout_events_enabled' has no sup equivalent: no log events (sup ctl logs -f follows the output) ${at("stdout_events_enabled=true")}`);
    expect(warnings).toContain(`warning: [program:worker] key 'numprocs': 2 instances, named worker.1 … worker.2 (supervisord: worker_00 … worker_01) ${at("numprocs=2")}`);
    expect(warnings.some((w) => w.startsWith("warning: [group:celery] sup has no groups"))).toBe(true);
    expect(warnings.some((w) => w.startsWith("warning: [eventlistener:crashmail] has no sup equivalent"))).toBe(true);

    const toml = f.read("sup.toml");
    expect(toml).toContain(`DATABASE_URL = "postgres://app:s3cr,et@localhost/app"`);
    expect(toml).toContain(`stderr = "stdout"            # redirect_stderr = true`);
    expect(toml).toContain(`log_max_bytes = "20MiB"`);
    // without -o the same text goes to stdout, and the warnings to stderr
    const again = await f.sup(["import", "supervisord.conf"]);
    expect({ code: again.code, stdout: again.stdout, stderr: again.stderr }).toEqual({ code: 0, stdout: toml, stderr: r.stderr });

    const check = await f.sup(["check"]);
    expect({ code: check.code, stdout: check.stdout, stderr: check.stderr }).toEqual({
      code: 0,
      stdout: `${f.config}: valid; 5 companions: web, worker.1, worker.2, beat, flower; this machine: ok\n`,
      stderr: "",
    });

    await f.start();
    await f.allRunning(["web", "worker.1", "worker.2", "beat"]);
    const status = Object.fromEntries((await f.status()).map((e) => [e.name, e.state]));
    expect(status).toEqual({ web: "RUNNING", "worker.1": "RUNNING", "worker.2": "RUNNING", beat: "RUNNING", flower: "STOPPED" });
    // the argv supervisord gave worker_01, numbered from 1: worker2; $0 reached the shell as "$0"
    await f.waitOutput(/worker\.2\s+\| celery worker worker2@%h up/);
  });

  test("paths are written for where sup.toml will live (-o in another folder)", async () => {
    f = supervisordFixture();
    f.mkdir("deploy");
    const r = await f.sup(["import", "supervisord.conf", "-o", "deploy/sup.toml"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("wrote deploy/sup.toml: 4 companions");
    expect(r.stdout).toEndWith("; next: sup check -c deploy/sup.toml\n");
    expect(f.read("deploy/sup.toml")).toContain(`cwd = "../app"`);
    const check = await f.sup(["check", "-c", "deploy/sup.toml"]);
    expect(check.code).toBe(0);
  });
});

describe("sup import Procfile", () => {
  test("one companion per line, the .env beside it, foreman's PORT: check accepts, run runs", async () => {
    f = new SupFixture();
    f.write(
      [
        "# web and worker, as foreman runs them",
        `web: sh -c 'echo "web on $PORT with $SECRET"; exec sleep 3600'`,
        "worker: sleep 3600",
        "",
      ].join("\n"),
      "Procfile",
    );
    f.write(`PORT=7000\nSECRET="s3cr et"\n`, ".env");
    const r = await f.sup(["import", "Procfile", "-o", "sup.toml"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "wrote sup.toml: 2 companions: web, worker; next: sup check\n", stderr: "" });
    const toml = f.read("sup.toml");
    expect(toml).toContain(`env_file = ".env"`);
    expect(toml).toContain(`env = { PORT = "7100" }`);
    const check = await f.sup(["check"]);
    expect({ code: check.code, stdout: check.stdout }).toEqual({ code: 0, stdout: `${f.config}: valid; 2 companions: web, worker; this machine: ok\n` });
    await f.start();
    await f.allRunning(["web", "worker"]);
    await f.waitOutput(/web\s+\| web on 7000 with s3cr et/);
  });
});

describe("refusals", () => {
  test("-o never overwrites without --force; --force does", async () => {
    f = new SupFixture("# mine\n");
    f.write("web: sleep 3600\n", "Procfile");
    const r = await f.sup(["import", "Procfile", "-o", "sup.toml"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 1,
      stdout: "",
      stderr: "sup: not written: sup.toml: it exists already; sup import never overwrites it (--force does)\n",
    });
    expect(f.read("sup.toml")).toBe("# mine\n");
    const forced = await f.sup(["import", "Procfile", "-o", "sup.toml", "--force"]);
    expect(forced.code).toBe(0);
    expect(readFileSync(f.config, "utf8")).toContain("[companions.web]");
  });

  test("a file in neither format or not readable: exit 1; usage: exit 2", async () => {
    f = new SupFixture('[companions.web]\ncommand = "x"\n');
    const unknown = await f.sup(["import", "sup.toml"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      `sup: sup.toml: neither a supervisord config (no [program:x] or other supervisord section) nor a Procfile (only "name: command" lines); --from supervisord|procfile says which it is\n`,
    );
    expect(f.read("sup.toml")).toBe('[companions.web]\ncommand = "x"\n');
    const missing = await f.sup(["import", "nope.conf"]);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 1, stderr: "sup: cannot read nope.conf: no such file\n" });
    const none = await f.sup(["import"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toStartWith("sup: name the file to import");
    const force = await f.sup(["import", "--force", "x"]);
    expect(force.code).toBe(2);
    const help = await f.sup(["--help"]);
    expect(help.stdout).toContain("import FILE");
  });
});
