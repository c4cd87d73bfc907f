// The deployment examples (examples/Dockerfile, Dockerfile.alpine, k8s.yaml, sup.service) agree
// with examples/sup.deploy.toml, release.ts's file names and sup's real verbs and flags: the
// static checks of scripts/verify-examples.ts, in-process (no binary, no release, no
// systemd-analyze: that script adds those). And each check can fail: altered copies are refused.
import { expect, test } from "bun:test";
import { version } from "../../scripts/compile.ts";
import { parseSupArgv, readTexts, staticChecks, timespanMs, type Texts } from "../../scripts/verify-examples.ts";

const { checks } = await staticChecks();

test("the static checks found the examples and their sup command lines", () => {
  expect(checks.length).toBeGreaterThan(50);
});

for (const ch of checks) {
  test(`examples: ${ch.name}`, () => {
    expect(ch.ok, ch.detail).toBe(true);
  });
}

/** the names of the checks that fail on the examples with `edit` applied to one of them */
async function failing(file: keyof Texts, edit: (text: string) => string): Promise<string[]> {
  const texts = readTexts();
  const altered = edit(texts[file]);
  expect(altered).not.toBe(texts[file]); // the edit applied
  return (await staticChecks({ [file]: altered })).checks.filter((c) => !c.ok).map((c) => c.name);
}

test("a TimeoutStopSec below the stop budget is caught", async () => {
  expect(await failing("unit", (t) => t.replace(/^TimeoutStopSec=25s$/m, "TimeoutStopSec=10s"))).toContain("sup.service: TimeoutStopSec > stop budget");
});

test("KillMode=control-group and Type=simple are caught", async () => {
  const names = await failing("unit", (t) => t.replace(/^KillMode=mixed$/m, "KillMode=control-group").replace(/^Type=notify$/m, "Type=simple"));
  expect(names).toContain("sup.service: Type=notify");
  expect(names.some((n) => n.startsWith("sup.service: KillMode=mixed"))).toBe(true);
});

test("a terminationGracePeriodSeconds below the stop budget is caught", async () => {
  expect(await failing("k8s", (t) => t.replace(/^(\s+)terminationGracePeriodSeconds: 25$/m, "$1terminationGracePeriodSeconds: 10"))).toContain(
    "k8s.yaml: terminationGracePeriodSeconds > stop budget",
  );
});

test("a liveness probe that fails on a companion in BACKOFF (sup status: exit 4) is caught", async () => {
  expect(await failing("k8s", (t) => t.replace('["sup", "info", "-s"', '["sup", "status", "-s"'))).toContain(
    "k8s.yaml: liveness fails only when sup is unreachable (its verb has no exit 4)",
  );
});

test("a misspelt probe flag is caught, as sup itself would refuse it", async () => {
  const names = await failing("k8s", (t) => t.replace('["sup", "status", "-s"', '["sup", "status", "--sokcet"'));
  expect(names).toContain("k8s.yaml: readinessProbe is a valid sup command");
});

test("a wrong TARGETARCH mapping and a missing libgcc are caught", async () => {
  expect(await failing("glibc", (t) => t.replace("arm64) arch=arm64 ;;", "arm64) arch=aarch64 ;;"))).toContain(
    `Dockerfile: TARGETARCH=arm64 installs sup-${version()}-linux-arm64 (checksum checked)`,
  );
  expect(await failing("musl", (t) => t.replace("apk add --no-cache libstdc++ libgcc", "apk add --no-cache libstdc++"))).toContain("Dockerfile.alpine: installs libstdc++ and libgcc (Bun's musl build needs them)");
});

test("timespanMs reads systemd's time spans", () => {
  expect(timespanMs("25s")).toBe(25_000);
  expect(timespanMs("90")).toBe(90_000);
  expect(timespanMs("1min 30s")).toBe(90_000);
  expect(timespanMs("500ms")).toBe(500);
  expect(timespanMs("soon")).toBeNull();
});

test("parseSupArgv takes what sup takes and refuses what it refuses", () => {
  expect(parseSupArgv(["sup", "info", "-s", "/run/sup/sup.sock"])).toMatchObject({ verb: "info", ctl: true, flags: { socket: "/run/sup/sup.sock" } });
  expect(parseSupArgv(["/usr/local/bin/sup", "ctl", "-c", "x.toml", "status", "--json", "web"])).toMatchObject({ verb: "status", args: ["web"] });
  expect(parseSupArgv(["sup", "wait", "--for", "ready", "--timeout", "1", "all"])).toMatchObject({ verb: "wait", flags: { for: "ready" } });
  expect(parseSupArgv(["sup", "run", "-c", "/app/sup.toml"])).toMatchObject({ verb: "run", ctl: false });
  expect(parseSupArgv(["sup", "wait", "--for", "up"])).toHaveProperty("error");
  expect(parseSupArgv(["sup", "stauts"])).toHaveProperty("error");
  expect(parseSupArgv(["sup", "check", "-s", "x"])).toHaveProperty("error"); // check reads a config, it takes no socket
  expect(parseSupArgv(["supervisord", "status"])).toHaveProperty("error");
});
