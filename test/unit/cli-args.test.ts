// The CLI's strict flag parser and its did-you-mean: declared flags only, `--` ends the flags,
// values checked against their choices.
import { describe, expect, test } from "bun:test";
import { closest, type Flag, parse, UsageError } from "../../src/cli/args.ts";

const FLAGS: Flag[] = [
  { name: "config", short: "c", type: "string", hint: "FILE", description: "" },
  { name: "json", type: "boolean", description: "" },
  { name: "no-wait", type: "boolean", description: "" },
  { name: "for", type: "string", choices: ["ready", "stopped"], description: "" },
];

const problem = (tokens: string[]) => {
  try {
    parse(tokens, FLAGS);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  return null;
};

describe("parse", () => {
  test.each([
    [["web", "--json", "api"], { json: true }, ["web", "api"]],
    [["-c", "a.toml", "web"], { config: "a.toml" }, ["web"]],
    [["--config=a.toml", "--for", "stopped"], { config: "a.toml", for: "stopped" }, []],
    [["--no-wait", "--", "--json", "-c"], { "no-wait": true }, ["--json", "-c"]],
    [["-", "-9", "web"], {}, ["-", "-9", "web"]],
  ] as [string[], Record<string, string | boolean>, string[]][])("%j", (tokens, flags, args) => {
    expect(parse(tokens, FLAGS)).toEqual({ flags, args });
  });

  test.each([
    [["--jsno"], "unknown flag --jsno (did you mean --json?)"],
    [["-json"], "unknown flag -json (did you mean --json?)"],
    [["--no-wiat"], "unknown flag --no-wiat (did you mean --no-wait?)"],
    [["--c", "x"], "unknown flag --c (did you mean -c?)"],
    [["--bogus"], "unknown flag --bogus"],
    [["-x"], "unknown flag -x"],
    [["-c"], "-c needs a value (FILE)"],
    [["-c", "--"], "-c needs a value (FILE)"],
    [["--json=yes"], "--json takes no value"],
    [["--for", "redy"], "--for must be ready or stopped, not 'redy' (did you mean ready?)"],
  ])("%j is a usage error", (tokens, message) => {
    expect(problem(tokens)).toBe(message);
  });
});

test("closest: a third of the word may be wrong", () => {
  const verbs = ["status", "start", "stop", "restart", "reread", "signal", "wait", "logs", "events", "scale", "info", "shutdown"];
  expect(closest("stauts", verbs)).toBe("status");
  expect(closest("restrat", verbs)).toBe("restart");
  expect(closest("stpo", verbs)).toBe("stop");
  expect(closest("sigal", verbs)).toBe("signal");
  expect(closest("xyzzy", verbs)).toBeUndefined();
  expect(closest("sx", verbs)).toBeUndefined();
});
