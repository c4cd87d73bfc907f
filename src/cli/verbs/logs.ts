// `sup ctl logs` (= `sup logs`): the last lines companions wrote; -f follows.
import { request, stream } from "../../control/client.ts";
import type { Json } from "../../control/protocol.ts";
import { UsageError } from "../args.ts";
import { err, out } from "../output.ts";
import { refused } from "../replies.ts";
import { CTL_ENV, CTL_EXITS, JSON_FLAG, type Verb } from "../verb.ts";

export const logs: Verb = {
  name: "logs",
  summary: "print the last lines companions wrote (-f: and follow)",
  synopsis: "[NAME...]",
  flags: [
    { name: "lines", short: "n", type: "string", hint: "N", description: "how many lines of each (default: the manager's)" },
    { name: "follow", short: "f", type: "boolean", description: "keep printing new lines until interrupted" },
    { name: "stdout", type: "boolean", description: "only what they wrote to stdout" },
    { name: "stderr", type: "boolean", description: "only what they wrote to stderr" },
    JSON_FLAG,
  ],
  exits: CTL_EXITS,
  env: CTL_ENV,
  example: "sup ctl logs -n 50 -f web",
  ctl: true,
  positionals: "names",
  async run(p, ctx) {
    const n = p.flags.lines;
    if (typeof n === "string" && !/^\d+$/.test(n)) throw new UsageError(`-n must be a whole number, not '${n}'`);
    if (p.flags.stdout && p.flags.stderr) throw new UsageError("--stdout and --stderr together are the default: give one or neither");
    const streams = p.flags.stdout ? ["stdout"] : p.flags.stderr ? ["stderr"] : ["stdout", "stderr"];
    const names = [...new Set(p.args)];
    const req = { cmd: "logs", ...(names.length ? { names } : {}), ...(typeof n === "string" ? { lines: Number(n) } : {}), streams, follow: p.flags.follow === true };
    const print = (m: Json) => {
      if (p.flags.json) out(JSON.stringify(m) + "\n");
      else if (typeof m.dropped === "number") err(`sup: ${m.dropped} line(s) dropped (this reader was too slow)\n`);
      else out(`${m.name}${m.stream === "stderr" ? " (stderr)" : ""} | ${m.line}\n`);
    };
    if (p.flags.follow) {
      const first = await stream(ctx.socket(), req, print);
      return first.ok ? 0 : refused(first);
    }
    const [r] = await request(ctx.socket(), [req]);
    if (!r!.ok) return refused(r!);
    for (const line of (r!.lines as Json[] | undefined) ?? []) print(line);
    return 0;
  },
};
