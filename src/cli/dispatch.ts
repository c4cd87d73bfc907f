// The verbs of `sup` after main.ts's fast paths: `sup ctl ...`, its aliases `sup VERB ...`,
// sup's own verbs, `--help` for each, and a did-you-mean for a misspelt one.
import { VERSION } from "../version.ts";
import { parse, suggest, UsageError } from "./args.ts";
import { ctl, ctlHelp, ctlVerbList } from "./ctl.ts";
import { err, out } from "./output.ts";
import { HELP, usageLine, verbHelp } from "./verb.ts";
import { CTL_VERBS, TOP_VERBS } from "./verbs/index.ts";

export async function dispatch(raw: string[]): Promise<number> {
  try {
    return await route(raw);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`sup: ${e.message}\n${e.usage ?? "Run 'sup --help' for usage."}\n`);
      return 2;
    }
    throw e;
  }
}

/** `sup -c FILE status` = `sup status -c FILE`: -c/-s (and --config/--socket) may come before the verb */
function hoistGlobals(raw: string[]): string[] {
  const lead: string[] = [];
  let i = 0;
  while (i < raw.length) {
    const a = raw[i]!;
    if ((a === "-c" || a === "-s" || a === "--config" || a === "--socket") && i + 1 < raw.length) {
      lead.push(a, raw[i + 1]!);
      i += 2;
    } else if (/^--(config|socket)=/.test(a)) {
      lead.push(a);
      i++;
    } else break;
  }
  if (!lead.length || i >= raw.length) return raw;
  const [verb, ...rest] = raw.slice(i);
  return verb === "ctl" ? ["ctl", ...lead, ...rest] : [verb!, ...lead, ...rest];
}

async function route(input: string[]): Promise<number> {
  const raw = hoistGlobals(input);
  const [cmd, ...rest] = raw;
  if (cmd === undefined) {
    err(topHelp());
    return 2;
  }
  if (cmd === "--help" || cmd === "-h" || cmd === "help") {
    const about = rest[0];
    if (about === undefined) out(topHelp());
    else if (about === "ctl") out(ctlHelp());
    else {
      const v = [...TOP_VERBS, ...CTL_VERBS].find((x) => x.name === about && !x.hidden);
      if (!v) throw new UsageError(`unknown command '${about}'${suggest(about, visible(), (n) => n)}`);
      out(verbHelp(v, v.ctl ? "sup ctl" : "sup"));
    }
    return 0;
  }
  if (cmd === "ctl") return ctl(rest, "sup ctl");
  if (CTL_VERBS.some((v) => v.name === cmd)) return ctl(raw, "sup");
  const verb = TOP_VERBS.find((v) => v.name === cmd);
  if (!verb) throw new UsageError(`unknown command '${cmd}'${suggest(cmd, visible(), (n) => n)}`);
  try {
    const p = parse(rest, [...verb.flags, HELP]);
    if (p.flags.help) {
      out(verbHelp(verb, "sup"));
      return 0;
    }
    return await verb.run(p, { prog: "sup", socket: () => "" });
  } catch (e) {
    if (e instanceof UsageError) e.usage ??= `${usageLine(verb, "sup")}\nRun 'sup ${verb.name} --help' for more.`;
    throw e;
  }
}

const visible = () => ["ctl", ...TOP_VERBS.filter((v) => !v.hidden).map((v) => v.name), ...CTL_VERBS.map((v) => v.name)];

export function topHelp(): string {
  const own = TOP_VERBS.filter((v) => !v.hidden);
  const w = Math.max(...own.map((v) => `${v.name} ${v.synopsis}`.length), "ctl VERB ...".length);
  const line = (a: string, b: string) => `  ${a.padEnd(w)}  ${b}`;
  return `sup ${VERSION} — a supervisor for your application's companion processes

usage: sup VERB [FLAGS] [ARGS]

${own.map((v) => line(`${v.name}${v.synopsis ? " " + v.synopsis : ""}`, v.summary)).join("\n")}
${line("ctl VERB ...", "talk to a running sup: the verbs below (also as `sup VERB`)")}

manager verbs (sup ctl [-c FILE | -s SOCKET] VERB, or sup VERB):
${ctlVerbList()}

The config is -c FILE, else $SUP_CONFIG, else ./sup.toml; -s SOCKET names the socket directly.
Exit codes: 0 ok, 1 refused or failed, 2 usage or invalid config, 3 cannot reach sup, 4 not as wanted.
Run 'sup VERB --help' for a verb's flags, exit codes, environment and an example.
`;
}
