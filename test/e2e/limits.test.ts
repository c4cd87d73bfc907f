// Per-companion user, group, umask, nice and limits (contract §10), through the real binary:
// each companion's first line reads back what it runs with. Around-the-spawn and the exec
// trampoline are both exercised; a companion without these keys runs exactly as before, and
// sup itself is left as it was.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { getRlimit, RLIMIT } from "../../src/os/libc.ts";
import { findUser, groupList, systemAccounts } from "../../src/os/users.ts";
import { SupFixture } from "../helpers/sup.ts";

setDefaultTimeout(60_000);

const root = process.getuid?.() === 0;
let f: SupFixture | undefined;
let g: SupFixture | undefined;
afterEach(async () => {
  await f?.cleanup();
  await g?.cleanup();
  f = g = undefined;
});

/** one line: uid | groups | umask | ulimit -n | ulimit -c | nice | ignored signals | blocked signals */
const PROBE = `["/bin/sh", "-c", "echo \\"$(id -u) | $(id -G) | $(umask) | $(ulimit -n) | $(ulimit -c) | $(cut -d' ' -f19 /proc/self/stat) | $(grep ^SigIgn /proc/self/status | cut -f2) | $(grep ^SigBlk /proc/self/status | cut -f2)\\"; exec sleep 600"]`;

async function firstLine(fx: SupFixture, name: string): Promise<string[]> {
  const text = await fx.waitFile(`${name}.log`, "to have its first line", (t) => t.includes("\n"));
  return text.split("\n")[0]!.split(" | ");
}

const hard = (r: number) => {
  const h = getRlimit(r)!.hard;
  return h === Infinity ? '"unlimited"' : String(h);
};

/** sup's own process: what it must still have after spawning shaped companions */
function own(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return {
    limits: readFileSync(`/proc/${pid}/limits`, "utf8"),
    umask: /^Umask:\s*(\d+)/m.exec(status)?.[1],
    nice: readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[16],
  };
}

test("user, umask, nice and limits are in force from the first line; a companion without them runs as before", async () => {
  if (!root) return; // user/group need root (config errors otherwise: see config.test.ts)
  const acc = systemAccounts();
  const nobody = findUser(acc, "nobody")!;
  expect(nobody).not.toBeNull();
  // a user with supplementary groups, if this machine has one: only the trampoline can give them
  const member = acc.users.find((u) => u.uid !== 0 && groupList(acc, u.name, u.gid).length > 1);
  const trampUser = member ?? nobody;

  // the baseline: a config with none of the keys
  g = new SupFixture(`[companions.plain]\ncommand = ${PROBE}\nstdout = "plain.log"\nstartsecs = 0\n`);
  await g.start();
  const baseline = await firstLine(g, "plain");
  await g.cleanup();
  g = undefined;

  f = new SupFixture(`
[defaults]
startsecs = 0
cwd = "/"

# soft limits under sup's hard ones, one group, nice up: set around the spawn
[companions.inline]
command = ${PROBE}
stdout = "inline.log"
user = "nobody"
umask = "027"
nice = 5
limits = { nofile = [1024, ${hard(RLIMIT.nofile)}], core = [0, ${hard(RLIMIT.core)}] }

# supplementary groups and an address-space limit: through the exec trampoline
[companions.tramp]
command = ${PROBE}
stdout = "tramp.log"
user = "${trampUser.name}"
umask = "077"
nice = 3
limits = { nofile = 200, core = 0, as = "unlimited" }

# started last: what the ones before changed around their spawns is undone
[companions.plain]
command = ${PROBE}
stdout = "plain.log"
cwd = "."
`);
  await f.start();

  const [uid, groups, umask, nofile, core, nice, ign, blk] = await firstLine(f, "inline");
  expect({ uid, groups, umask, nofile, core, nice }).toEqual({ uid: String(nobody.uid), groups: groupList(acc, "nobody", nobody.gid).join(" "), umask: "0027", nofile: "1024", core: "0", nice: "5" });
  expect({ ign, blk }).toEqual({ ign: "0000000000000000", blk: "0000000000000000" });

  const t = await firstLine(f, "tramp");
  expect(t).toEqual([String(trampUser.uid), groupList(acc, trampUser.name, trampUser.gid).join(" "), "0077", "200", "0", "3", "0000000000000000", "0000000000000000"]);
  // the trampoline is gone: the companion's pid runs the program itself
  const trampPid = (await f.entry("tramp")).pid!;
  expect(readFileSync(`/proc/${trampPid}/cmdline`, "utf8").split("\0")[0]).toBe("sleep");

  // the same probe without the keys reads exactly what it read without the others around
  expect(await firstLine(f, "plain")).toEqual(baseline);

  // and sup itself kept its own limits, umask and nice (the arbiter never changes them)
  const manager = f.managerPid()!;
  const arbiter = f.proc!.pid;
  expect(own(manager)).toEqual(own(arbiter));
});

test("through the trampoline, a program that is nowhere is FATAL (command not found), not a crash loop", async () => {
  f = new SupFixture(`
[companions.gone]
command = ["sup-test-no-such-program"]
limits = { as = "unlimited" }
`);
  await f.start();
  const e = await f.waitState("gone", "FATAL");
  expect(e.description).toBe("fatal, command not found: sup-test-no-such-program");
  expect(e.exit_count).toBe(0);
});

test("sup check names an unknown user, and a nice out of range, with their key paths", async () => {
  f = new SupFixture(`
[companions.web]
command = "sleep 1"
user = "sup-test-no-such-user"
nice = 25
[companions.web.limits]
nofle = 10
`);
  const r = await f.sup(["check", "-c", f.config]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(root ? 'companions.web.user: unknown user "sup-test-no-such-user" (not in /etc/passwd)' : "companions.web.user: sup runs as uid");
  expect(r.stderr).toContain("companions.web.nice: must be from -20 to 19");
  expect(r.stderr).toContain('companions.web.limits.nofle: unknown key (did you mean "nofile"?)');
});
