import { expect, test } from "bun:test";
import { Supervisor } from "../../src/manager/supervisor.ts";
import { validateConfig } from "../../src/config/validate.ts";
import { FakeHost } from "../helpers/fake-host.ts";
import { makeConfig } from "../helpers/specs.ts";

test("regression 1: startAll keeps starting companions after an essential one ended at startup", () => {
  const host = new FakeHost();
  const sup = new Supervisor(makeConfig({ x: { command: "x" }, a: { command: "a", essential: true }, b: { command: "b" } }), host);
  host.failNextSpawn("a", "command not found: a");
  sup.startAll();
  expect(host.stoppingCodes).toEqual([1]);
  // nothing may start once the shutdown began
  expect(host.spawnsOf("b")).toHaveLength(0);
  host.exitOf("x", null, "SIGTERM");
  expect(host.exitCodes).toEqual([1]);
});

test("regression 1b: first companion FATAL: host.exit is called, then startAll still spawns the next one", () => {
  const host = new FakeHost();
  const sup = new Supervisor(makeConfig({ a: { command: "a" }, b: { command: "b" } }, { sup: { fail_fast: true } }), host);
  host.failNextSpawn("a", "command not found: a");
  sup.startAll();
  expect(host.exitCodes).toEqual([1]);
  expect(host.spawnsOf("b")).toHaveLength(0);
});

test("regression 2: an exit reported inside spawn leaves a stale owned group", () => {
  const host = new FakeHost();
  const sup = new Supervisor(makeConfig({ web: { command: "prog", restart_delay: 2 } }), host);
  host.exitDuringNextSpawn("web", 1);
  sup.startAll();
  expect(sup.get("web")!.state).toBe("BACKOFF");
  expect([...host.owned.keys()]).toEqual([]);
});

test("regression 3: a problem in [sup] or [defaults] hides every companion problem", () => {
  const r = validateConfig({ sup: { fail_fst: true }, defaults: { startsecs: -1 }, companions: { web: { command: "x", stop_signal: "SIGTRM" } } }, "/srv/sup.toml");
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.problems).toContain('companions.web.stop_signal: unknown signal "SIGTRM"');
});
