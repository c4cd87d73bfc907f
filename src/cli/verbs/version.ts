// `sup version` (and `sup --version`, main.ts's fast path): the version, commit, build date and
// target; `--json` adds the Bun runtime's version.
import { UsageError } from "../args.ts";
import { out } from "../output.ts";
import type { Verb } from "../verb.ts";
import { versionInfo, versionLine } from "../../version.ts";

export const version: Verb = {
  name: "version",
  summary: "print the version, commit, build date and target",
  synopsis: "",
  flags: [{ name: "json", type: "boolean", description: "print {version, commit, built, target, bun} as JSON" }],
  exits: [[0, "always"], [2, "usage error"]],
  env: [],
  example: "sup version --json",
  ctl: false,
  positionals: "none",
  async run(p) {
    if (p.args.length) throw new UsageError(`unexpected argument '${p.args[0]}'`);
    out(p.flags.json ? JSON.stringify(versionInfo()) + "\n" : versionLine());
    return 0;
  },
};
