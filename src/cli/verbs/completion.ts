// `sup completion bash|zsh|fish`: a completion script for verbs, flags and companion names.
import { UsageError } from "../args.ts";
import { out } from "../output.ts";
import type { Verb } from "../verb.ts";

const SHELLS = ["bash", "zsh", "fish"] as const;

export const completion: Verb = {
  name: "completion",
  summary: "print a shell completion script (verbs, flags, running companions' names)",
  synopsis: "bash|zsh|fish",
  flags: [],
  exits: [[0, "printed"], [2, "usage error (no such shell)"]],
  env: [],
  example: "sup completion bash > /etc/bash_completion.d/sup",
  notes:
    "Names come from the running sup (`sup __complete names`, at most 0.5 s), else from the config file.\n" +
    "bash: `source <(sup completion bash)`; zsh: `source <(sup completion zsh)`; fish: `sup completion fish | source`.",
  ctl: false,
  positionals: "shells",
  async run(p) {
    const [shell, ...extra] = p.args;
    if (!shell || extra.length || !(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`completion needs one of ${SHELLS.join(", ")}${shell ? `, not '${[shell, ...extra].join(" ")}'` : ""}`);
    const { script } = await import("../completion.ts");
    out(script(shell as (typeof SHELLS)[number]));
    return 0;
  },
};
