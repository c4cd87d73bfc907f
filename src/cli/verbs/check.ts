// `sup check`: validate the config file, then check it against this machine (would every
// companion start?); print every problem with its key path and line, sorted by line. Changes
// nothing: no socket, no process, no file.
import { UsageError } from "../args.ts";
import { err, out } from "../output.ts";
import { CONFIG, type Verb } from "../verb.ts";
import { configPath } from "../../config/path.ts";

export const check: Verb = {
  name: "check",
  summary: "validate the config file and check that every companion can start on this machine",
  synopsis: "",
  flags: [CONFIG],
  exits: [
    [0, "the config is valid and every companion can start here"],
    [1, "the config is valid, but a companion would be FATAL at start here (command not found, cwd or log folder missing, unknown user, sup not root)"],
    [2, "the config is invalid or cannot be read (every problem is printed), or a usage error"],
  ],
  env: [["SUP_CONFIG", "the config file when -c is not given"]],
  example: "sup check -c sup.toml",
  notes: "It only reads: nothing is started, stopped or changed, and a running sup is not told (that is `sup reread`).",
  ctl: false,
  positionals: "none",
  async run(p) {
    if (p.args.length) throw new UsageError(`unexpected argument '${p.args[0]}'`);
    const file = configPath(p.flags.config as string | undefined);
    const { loadConfig } = await import("../../config/load.ts");
    const r = await loadConfig(file);
    const config = r.ok ? r.config : r.machineOnly;
    if (!config) {
      // the words `sup run` and scripts have read since the first version
      err(`${file}: ${r.ok ? 0 : r.problems.length} problem(s):\n${list(r.ok ? [] : r.problems)}`);
      return 2;
    }
    const names = config.companions.map((c) => c.name);
    const shown = names.length > 12 ? `${names.slice(0, 12).join(", ")}, … (${names.length - 12} more)` : names.join(", ");
    const head = `${file}: valid; ${count(names.length, "companion")}${names.length ? `: ${shown}` : ""}`;
    const problems = [...(r.ok ? [] : r.problems), ...(await machine(file, config))].sort((a, b) => lineOf(a) - lineOf(b));
    if (!problems.length) {
      out(`${head}; this machine: ok\n`);
      return 0;
    }
    err(`${head}; ${count(problems.length, "problem")} on this machine:\n${list(problems)}nothing was started or changed\n`);
    return 1;
  },
};

/** the machine's problems, with key paths and lines as validation writes its own */
async function machine(file: string, config: import("../../config/schema.ts").SupConfig): Promise<string[]> {
  const { readFileSync } = await import("node:fs");
  const { machineProblems } = await import("../../config/machine.ts");
  const { lineOf: lineIn } = await import("../../config/validate.ts");
  const text = readFileSync(file, "utf8");
  const raw = Bun.TOML.parse(text) as { defaults?: Record<string, unknown>; companions?: Record<string, Record<string, unknown>> };
  const home = (name: string, key: string) =>
    raw.companions?.[name]?.[key] === undefined && raw.defaults?.[key] !== undefined ? ["defaults", key] : ["companions", name, key];
  return machineProblems(config, home).map(({ path, message }) => {
    const line = lineIn(text, path);
    return `${path.join(".")}: ${message}${line ? ` (${file}:${line})` : ""}`;
  });
}

/** the line a problem names at its end, `(FILE:LINE)`; none sorts last */
function lineOf(problem: string): number {
  const m = /:(\d+)\)$/.exec(problem);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function list(problems: string[]): string {
  return problems.map((q) => `  ${q}\n`).join("");
}
