// `sup check`: validate the config file; print every problem with its key path and line.
import { UsageError } from "../args.ts";
import { err, out } from "../output.ts";
import { CONFIG, type Verb } from "../verb.ts";
import { configPath } from "../../config/path.ts";

export const check: Verb = {
  name: "check",
  summary: "validate the config file and print its problems",
  synopsis: "",
  flags: [CONFIG],
  exits: [
    [0, "the config is valid"],
    [2, "the config is invalid or cannot be read (every problem is printed), or a usage error"],
  ],
  env: [["SUP_CONFIG", "the config file when -c is not given"]],
  example: "sup check -c sup.toml",
  ctl: false,
  positionals: "none",
  async run(p) {
    if (p.args.length) throw new UsageError(`unexpected argument '${p.args[0]}'`);
    const file = configPath(p.flags.config as string | undefined);
    const { loadConfig } = await import("../../config/load.ts");
    const r = await loadConfig(file);
    if (!r.ok) {
      err(`${file}: ${r.problems.length} problem(s):\n${r.problems.map((q) => `  ${q}`).join("\n")}\n`);
      return 2;
    }
    out(`${file}: ok, ${r.config.companions.length} companion(s): ${r.config.companions.map((c) => c.name).join(", ")}\n`);
    return 0;
  },
};
