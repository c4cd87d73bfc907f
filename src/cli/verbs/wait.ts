// `sup ctl wait` (= `sup wait`): block until companions are up (ready) or down (stopped);
// exit 4 naming those that did not get there in time.
import { ctlTimeoutMs, request } from "../../control/client.ts";
import { UsageError } from "../args.ts";
import { err, out } from "../output.ts";
import { refused } from "../replies.ts";
import { type Entry, isWanted, reason } from "../status-view.ts";
import { CTL_ENV, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, seconds, TIMEOUT, type Verb } from "../verb.ts";

const isDown = (e: Entry) => e.pid === null && (e.state === "STOPPED" || e.state === "EXITED" || e.state === "FATAL");

export const wait: Verb = {
  name: "wait",
  summary: "wait until companions are ready (or stopped)",
  synopsis: "NAME... | all",
  flags: [
    { name: "for", type: "string", choices: ["ready", "stopped"], description: "what to wait for (default: ready)" },
    { ...TIMEOUT, description: "give up after S seconds (default: the manager's, 60 s)" },
  ],
  exits: [EXIT_OK, [1, "refused (an unknown name)"], EXIT_USAGE, EXIT_UNREACHABLE, [4, "not every companion got there in time (each is named with its state)"]],
  env: CTL_ENV,
  example: "sup ctl wait --timeout 30 all",
  ctl: true,
  positionals: "names",
  async run(p, ctx) {
    if (!p.args.length) throw new UsageError("wait needs NAME... or all");
    const timeout = seconds(p.flags.timeout);
    const want = (p.flags.for as "ready" | "stopped" | undefined) ?? "ready";
    const all = p.args.includes("all");
    const names = all ? null : [...new Set(p.args)];
    const req = { cmd: "wait", ...(names ? { names } : {}), for: want, ...(timeout === undefined ? {} : { timeout }) };
    const [r] = await request(ctx.socket(), [req], timeout === undefined ? null : timeout * 1000 + ctlTimeoutMs());
    if (r!.ok) {
      out(`${all ? "all" : names!.join(", ")}: ${want}\n`);
      return 0;
    }
    if (r!.code !== "TIMEOUT") return refused(r!);
    const entries = (r!.companions as Entry[] | undefined) ?? [];
    const there = (e: Entry) => (want === "stopped" ? isDown(e) : e.state === "RUNNING" ? isWanted(e) : e.state === "EXITED" && isWanted(e));
    const late = entries.filter((e) => !there(e));
    for (const e of late.length ? late : entries) {
      const why = reason(e);
      err(`${e.name}: not ${want} (${e.state}${why ? `, ${why}` : ""})\n`);
    }
    if (!entries.length) err(`sup: ${r!.message ?? r!.error}\n`);
    return 4;
  },
};
