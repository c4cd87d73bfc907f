// `sup version` (and `sup --version`): the version.
import { UsageError } from "../args.ts";
import { out } from "../output.ts";
import type { Verb } from "../verb.ts";
import { VERSION } from "../../version.ts";

export const version: Verb = {
  name: "version",
  summary: "print the version",
  synopsis: "",
  flags: [],
  exits: [[0, "always"], [2, "usage error"]],
  env: [],
  example: "sup version",
  ctl: false,
  positionals: "none",
  async run(p) {
    if (p.args.length) throw new UsageError(`unexpected argument '${p.args[0]}'`);
    out(`sup ${VERSION}\n`);
    return 0;
  },
};
