// `sup ctl signal` (= `sup signal`): send a signal to companions' main processes, or with
// --group to every process of their trees.
import { request } from "../../control/client.ts";
import { parseSignal } from "../../config/signals.ts";
import { UsageError } from "../args.ts";
import { report, targets } from "../replies.ts";
import { CTL_ENV, CTL_EXITS, type Verb } from "../verb.ts";

export const signal: Verb = {
  name: "signal",
  summary: "send a signal to companions (their main process; --group: the whole tree)",
  synopsis: "SIGNAL NAME... | all",
  flags: [{ name: "group", type: "boolean", description: "signal every process in each companion's tree, not only its main process" }],
  exits: CTL_EXITS,
  env: CTL_ENV,
  example: "sup ctl signal HUP web",
  notes: "SIGNAL is a name (HUP, SIGHUP, hup) or a number (1).",
  ctl: true,
  positionals: "signal-then-names",
  async run(p, ctx) {
    const [sig, ...names] = p.args;
    if (!sig || !names.length) throw new UsageError("signal needs SIGNAL NAME... or all");
    const name = parseSignal(sig);
    if (!name) throw new UsageError(`unknown signal ${JSON.stringify(sig)}`);
    const socket = ctx.socket();
    const group = p.flags.group === true ? { group: true } : {};
    return report(await request(socket, (await targets(socket, names)).map((n) => ({ cmd: "signal", name: n, signal: name, ...group }))));
  },
};
