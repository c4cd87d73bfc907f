// The sup subcommands as data: each a small function of its raw args returning an exit code.
import { parseArgs } from "citty";
import { runArbiter } from "../arbiter/arbiter.ts";
import { configPath, loadConfig } from "../config/load.ts";
import { VERSION } from "../version.ts";
import { checkFlags, configArg, UsageError, wantsHelp } from "./args.ts";
import { ctl, CTL_USAGE } from "./ctl.ts";
import { err, out } from "./output.ts";

const USAGE: Record<string, string> = {
  run: "usage: sup run [-c FILE]           run in the foreground (arbiter)",
  check: "usage: sup check [-c FILE]         validate the config; print problems; exit 0/2",
  ctl: CTL_USAGE,
};

export function usage(cmd?: string): string {
  if (cmd && USAGE[cmd]) return USAGE[cmd] + "\n";
  return `sup ${VERSION} — a supervisor for your application's companion processes

usage:
  sup run   [-c FILE]                         run in the foreground (arbiter)
  sup check [-c FILE]                         validate the config; print problems; exit 0/2
  sup ctl   [-c FILE | -s SOCKET] status [--json] [NAME...]
  sup ctl   [-c FILE | -s SOCKET] start|stop|restart NAME... | all
  sup ctl   [-c FILE | -s SOCKET] reread
  sup ctl   [-c FILE | -s SOCKET] signal SIGNAL NAME...
  sup ctl   [-c FILE | -s SOCKET] info [--json]
  sup version | sup --version

The config is -c FILE, else $SUP_CONFIG, else ./sup.toml.
`;
}

function helpRequested(raw: string[], cmd: string): boolean {
  if (wantsHelp(raw)) {
    out(usage(cmd));
    return true;
  }
  return false;
}

function configOnly(raw: string[]): string {
  checkFlags(raw, configArg);
  const args = parseArgs(raw, configArg);
  if ((args._ as string[]).length) throw new UsageError(`unexpected argument '${(args._ as string[])[0]}'`);
  return configPath(args.config as string | undefined);
}

export const commands: Record<string, (raw: string[]) => Promise<number>> = {
  async run(raw) {
    if (helpRequested(raw, "run")) return 0;
    return runArbiter(configOnly(raw));
  },
  async check(raw) {
    if (helpRequested(raw, "check")) return 0;
    const file = configOnly(raw);
    const r = await loadConfig(file);
    if (!r.ok) {
      err(`${file}: ${r.problems.length} problem(s):\n${r.problems.map((p) => `  ${p}`).join("\n")}\n`);
      return 2;
    }
    out(`${file}: ok, ${r.config.companions.length} companion(s): ${r.config.companions.map((c) => c.name).join(", ")}\n`);
    return 0;
  },
  async ctl(raw) {
    if (helpRequested(raw, "ctl")) return 0;
    return ctl(raw);
  },
};
