// Per-companion limits (contract §10): the accounts lookup, the plan that chooses between
// around-the-spawn and the exec trampoline, and withLimits on this very process (the spawn
// callback reads what is in force at the moment Bun.spawn would run, and after it).
import { describe as group, expect, test } from "bun:test";
import { decodeTrampoline, encodeTrampoline, EXEC_COMMAND, planSpawn, withLimits, type PlanInput, type SpawnShape } from "../../src/contain/limits.ts";
import { FdBudget } from "../../src/os/fds.ts";
import { getNice, getRlimit, RLIMIT } from "../../src/os/libc.ts";
import { findGroup, findUser, groupList, parseGroup, parsePasswd, resolveIdentity } from "../../src/os/users.ts";
import { SpawnError } from "../../src/manager/host.ts";
import { makeSpec } from "../helpers/specs.ts";

const ACC = {
  users: parsePasswd(["root:x:0:0:root:/root:/bin/sh", "# a comment", "broken line", "app:x:1001:1001::/home/app:/bin/sh", "123:x:4000:4000::/:/bin/sh", ""].join("\n")),
  groups: parseGroup(["root:x:0:", "app:x:1001:", "ssl-cert:x:103:app,other", "docker:x:998: app ", "staff:x:50:other"].join("\n")),
};

group("accounts", () => {
  test("passwd and group lines; comments and broken lines are skipped", () => {
    expect(ACC.users.map((u) => u.name)).toEqual(["root", "app", "123"]);
    expect(findUser(ACC, "app")).toEqual({ name: "app", uid: 1001, gid: 1001 });
    expect(findUser(ACC, 1001)?.name).toBe("app");
    expect(findUser(ACC, "1001")?.name).toBe("app");
    // a name made of digits is a name first
    expect(findUser(ACC, "123")?.uid).toBe(4000);
    expect(findUser(ACC, "nobody")).toBeNull();
    expect(findGroup(ACC, "docker")).toEqual({ name: "docker", gid: 998, members: ["app"] });
    expect(groupList(ACC, "app", 1001)).toEqual([1001, 103, 998]);
    expect(groupList(ACC, "root", 0)).toEqual([0]);
  });

  test("resolveIdentity: as initgroups would set it", () => {
    expect(resolveIdentity(ACC, null, null)).toEqual({ ok: true, id: {} });
    expect(resolveIdentity(ACC, "app", null)).toEqual({ ok: true, id: { uid: 1001, gid: 1001, groups: [1001, 103, 998] } });
    expect(resolveIdentity(ACC, "app", "ssl-cert")).toEqual({ ok: true, id: { uid: 1001, gid: 103, groups: [103, 998] } });
    expect(resolveIdentity(ACC, null, "staff")).toEqual({ ok: true, id: { gid: 50, groups: [50] } });
    expect(resolveIdentity(ACC, 5000, 5000)).toEqual({ ok: true, id: { uid: 5000, gid: 5000, groups: [5000] } });
    expect(resolveIdentity(ACC, "root", null)).toEqual({ ok: true, id: { uid: 0, gid: 0, groups: [0] } });
    expect(resolveIdentity(ACC, "ghost", null)).toEqual({ ok: false, key: "user", message: 'unknown user "ghost" (not in /etc/passwd)' });
    expect(resolveIdentity(ACC, "app", "ghosts")).toEqual({ ok: false, key: "group", message: 'unknown group "ghosts" (not in /etc/group)' });
    expect(resolveIdentity(ACC, 5000, null)).toEqual({ ok: false, key: "user", message: "user 5000 has no entry in /etc/passwd: set group too" });
  });
});

group("planSpawn: around the spawn, or the trampoline", () => {
  const CURRENT: Record<string, { soft: number; hard: number }> = {
    nofile: { soft: 1024, hard: 4096 },
    core: { soft: 0, hard: Infinity },
    nproc: { soft: 500, hard: 500 },
    memlock: { soft: 65536, hard: 65536 },
    as: { soft: Infinity, hard: Infinity },
    stack: { soft: 8 << 20, hard: Infinity },
    cpu: { soft: Infinity, hard: Infinity },
  };
  const base: PlanInput = {
    limits: {},
    nice: null,
    id: {},
    caps: { resource: true, nice: true },
    current: (k) => CURRENT[k]!,
    currentNice: 0,
    operatorNofile: 1024,
    nofileSafe: (soft) => soft > 100,
  };
  const plan = (p: Partial<PlanInput>) => planSpawn({ ...base, ...p });

  test("as root: limits, nice and a single group go around the spawn", () => {
    expect(plan({ limits: { nofile: { soft: 65536, hard: 65536 }, core: { soft: 0, hard: 0 } }, nice: -5, id: { uid: 33, gid: 33, groups: [33] } })).toEqual({
      ok: true,
      around: { limits: [["nofile", { soft: 65536, hard: 65536 }], ["core", { soft: 0, hard: 0 }]], nice: -5 },
      trampoline: null,
    });
    // nice equal to sup's own is nothing to do
    expect(plan({ nice: 0 })).toEqual({ ok: true, around: { limits: [] }, trampoline: null });
  });

  test.each([
    ["as", { as: { soft: 1 << 30, hard: 1 << 30 } }],
    ["cpu", { cpu: { soft: 60, hard: 60 } }],
    ["stack", { stack: { soft: 1 << 20, hard: 1 << 20 } }],
  ] as const)("limits.%s would hurt the manager for the moment: trampoline, even as root", (_k, limits) => {
    const p = plan({ limits });
    expect(p.ok && p.trampoline).toBeTruthy();
  });

  test("supplementary groups: Bun.spawn cannot set them, the trampoline does (with uid, gid and the operator's nofile)", () => {
    expect(plan({ id: { uid: 1001, gid: 1001, groups: [1001, 103] } })).toEqual({
      ok: true,
      around: null,
      trampoline: { limits: [["nofile", { soft: 1024, hard: 4096 }]], uid: 1001, gid: 1001, groups: [1001, 103] },
    });
    // a gid that differs from the only group also needs it
    expect(plan({ id: { uid: 1, gid: 2, groups: [3] } }).ok && plan({ id: { uid: 1, gid: 2, groups: [3] } })).toMatchObject({ around: null });
  });

  test("an explicit nofile below what the manager holds open goes through the trampoline", () => {
    expect(plan({ limits: { nofile: { soft: 50, hard: 50 } } })).toMatchObject({ ok: true, around: null, trampoline: { limits: [["nofile", { soft: 50, hard: 50 }]] } });
    expect(plan({ limits: { nofile: { soft: 200, hard: 200 } } })).toMatchObject({ ok: true, trampoline: null });
  });

  test("without CAP_SYS_RESOURCE / CAP_SYS_NICE: soft changes within the hard limit go around; a lowered hard limit, nproc or a raised nice need the trampoline", () => {
    const user = { caps: { resource: false, nice: false } };
    expect(plan({ ...user, limits: { core: { soft: 1 << 20, hard: Infinity } } })).toMatchObject({ ok: true, trampoline: null });
    expect(plan({ ...user, limits: { nofile: { soft: 512, hard: 4096 } } })).toMatchObject({ ok: true, trampoline: null });
    expect(plan({ ...user, limits: { nofile: { soft: 512, hard: 512 } } })).toMatchObject({ ok: true, around: null });
    expect(plan({ ...user, limits: { nproc: { soft: 100, hard: 500 } } })).toMatchObject({ ok: true, around: null });
    expect(plan({ ...user, nice: 10 })).toMatchObject({ ok: true, around: null, trampoline: { nice: 10 } });
  });

  test("not root: what the kernel would refuse is a reason (the spawn is FATAL with it)", () => {
    const none = { resource: false, nice: false };
    expect(plan({ caps: none, limits: { nofile: { soft: 8192, hard: 8192 } } })).toEqual({
      ok: false,
      reason: "limits.nofile: cannot raise the hard limit above 4096 without root (CAP_SYS_RESOURCE) (asked for 8192)",
    });
    expect(plan({ caps: none, limits: { memlock: { soft: 1, hard: Infinity } } })).toEqual({
      ok: false,
      reason: "limits.memlock: cannot raise the hard limit above 65536 without root (CAP_SYS_RESOURCE) (asked for unlimited)",
    });
    expect(plan({ caps: none, nice: -1, currentNice: 0 })).toEqual({ ok: false, reason: "nice -1: only root (CAP_SYS_NICE) may raise the priority (sup runs at nice 0)" });
    // root in a container without CAP_SYS_RESOURCE (Docker's default): lowering a hard limit is for good, so the trampoline does it
    expect(plan({ caps: { resource: false, nice: true }, limits: { core: { soft: 0, hard: 0 } }, nice: 5 })).toMatchObject({ ok: true, around: null, trampoline: { nice: 5 } });
    expect(plan({ limits: { core: { soft: 0, hard: 0 } }, current: () => null })).toEqual({ ok: false, reason: "cannot set limits.core: resource limits are not reachable here (no libc)" });
  });

  test("the trampoline's settings survive their one argv word, unlimited included", () => {
    const t = { limits: [["core", { soft: Infinity, hard: Infinity }], ["nofile", { soft: 10, hard: 20 }]] as [any, any][], nice: 3, uid: 1, gid: 2, groups: [2, 5], path: "/bin/true" };
    const word = encodeTrampoline(t);
    expect(word).not.toContain("Infinity");
    expect(decodeTrampoline(word)).toEqual(t);
  });
});

group("withLimits on this process", () => {
  const ctx = { operatorNofile: null, fds: new FdBudget(), warn: () => {} };
  const root = process.getuid?.() === 0;

  test("without any of the keys the shape is the plain argv, and nothing changes around it", () => {
    const spec = makeSpec("web", { command: ["prog", "a"] });
    const before = process.umask();
    let seen: SpawnShape | null = null;
    let umaskInside = -1;
    withLimits(spec, ctx, (shape) => {
      seen = shape;
      umaskInside = process.umask();
      return 0;
    });
    expect(seen!).toEqual({ argv: ["prog", "a"] });
    expect(umaskInside).toBe(before);
  });

  // the soft limit only, under the hard one: reversible with or without CAP_SYS_RESOURCE
  const coreHard = () => {
    const h = getRlimit(RLIMIT.core)!.hard;
    return h === Infinity ? "unlimited" : h;
  };

  test("umask, nice and core are in force during the spawn and undone after it", () => {
    if (!root) return; // nice below sup's own needs root: covered by the plan tests
    const spec = makeSpec("web", { command: ["prog"], umask: "027", nice: 7, limits: { core: [4096, coreHard()] } });
    const before = { umask: process.umask(), nice: getNice(), core: getRlimit(RLIMIT.core) };
    const inside = withLimits(spec, ctx, (shape) => ({ shape, umask: process.umask(), nice: getNice(), core: getRlimit(RLIMIT.core) }));
    expect(inside).toEqual({ shape: { argv: ["prog"] }, umask: 0o27, nice: 7, core: { soft: 4096, hard: before.core!.hard } });
    expect({ umask: process.umask(), nice: getNice(), core: getRlimit(RLIMIT.core) }).toEqual(before);
  });

  test("settings are undone when the spawn throws", () => {
    if (!root) return;
    const spec = makeSpec("web", { command: ["prog"], umask: "077", limits: { core: [1024, coreHard()] } });
    const before = { umask: process.umask(), core: getRlimit(RLIMIT.core) };
    expect(() => withLimits(spec, ctx, () => { throw new Error("ENOENT"); })).toThrow("ENOENT");
    expect({ umask: process.umask(), core: getRlimit(RLIMIT.core) }).toEqual(before);
  });

  test("a user with one group: Bun.spawn gets uid and gid; with more groups: the trampoline wraps the argv", () => {
    if (!root) return;
    const spec = makeSpec("web", { command: ["sh", "-c", "true"], user: 0 });
    expect(withLimits(spec, ctx, (s) => s)).toEqual({ argv: ["sh", "-c", "true"], uid: 0, gid: 0 });
    const tramp = makeSpec("web", { command: ["sh", "-c", "true"], limits: { as: "unlimited" } });
    const shape = withLimits(tramp, ctx, (s) => s);
    const i = shape.argv.indexOf(EXEC_COMMAND);
    expect(i).toBeGreaterThan(0);
    expect(shape.argv.slice(i + 2)).toEqual(["sh", "-c", "true"]);
    expect(shape.uid).toBeUndefined();
    const settings = decodeTrampoline(shape.argv[i + 1]!);
    expect(settings.path).toMatch(/\/sh$/);
    expect(settings.limits[0]).toEqual(["as", { soft: Infinity, hard: Infinity }]);
  });

  test("through the trampoline, a program that is nowhere on PATH is `command not found` at once (ENOENT)", () => {
    const spec = makeSpec("web", { command: ["no-such-program-sup-test"], limits: { cpu: "unlimited" } });
    let called = false;
    try {
      withLimits(spec, ctx, () => (called = true));
      throw new Error("want ENOENT");
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe("ENOENT");
    }
    expect(called).toBe(false);
  });

  test("user set while not root, or an unknown user at spawn time: SpawnError (FATAL with the reason)", () => {
    const spec = makeSpec("web", { command: ["prog"], user: root ? "no-such-user-sup-test" : "root" });
    let err: unknown;
    try {
      withLimits(spec, ctx, () => 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpawnError);
    expect((err as SpawnError).transient).toBe(false);
    expect((err as Error).message).toBe(root ? 'unknown user "no-such-user-sup-test" (not in /etc/passwd)' : `sup runs as uid ${process.getuid!()}, not root: cannot run as user root`);
  });
});
