// `sup ctl VERB` and its aliases `sup VERB`: finds the verb, parses its declared flags strictly,
// prints its help, and maps an unreachable manager to exit 3. The verb files own the rest.
import { UnreachableError } from "../control/client.ts";
import { type Flag, parse, suggest, UsageError } from "./args.ts";
import { err, out } from "./output.ts";
import { socketPath } from "./socket.ts";
import { CTL_ENV, CTL_FLAGS, type Ctx, Exit, EXIT_NOT_WANTED, EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE, EXIT_USAGE, HELP, usageLine, type Verb, verbHelp } from "./verb.ts";
import { CTL_VERBS } from "./verbs/index.ts";

export { scanSocket } from "./socket.ts";

/** `sup ctl ARGS` (prog "sup ctl") or `sup VERB ARGS` (prog "sup", raw starts with the verb) */
export async function ctl(raw: string[], prog: "sup ctl" | "sup"): Promise<number> {
  const { verb, tokens } = findVerb(raw);
  if (verb === undefined) {
    const p = parse(tokens, CTL_FLAGS); // an unknown flag before any verb is the first problem
    if (p.flags.help) {
      out(ctlHelp());
      return 0;
    }
    throw withUsage(new UsageError("missing command"), "Run 'sup ctl --help' for the list of commands.");
  }
  const def = CTL_VERBS.find((v) => v.name === verb);
  if (!def) throw withUsage(new UsageError(`unknown command '${verb}'${suggest(verb, CTL_VERBS, (v) => v.name)}`), `Run '${prog} --help' for the list of commands.`);
  const flags: Flag[] = [...def.flags, ...CTL_FLAGS];
  const more = `Run '${prog} ${def.name} --help' for its flags, exit codes and an example.`;
  let viaSocket = false;
  try {
    const p = parse(tokens, flags);
    viaSocket = typeof p.flags.socket === "string";
    if (p.flags.help) {
      out(verbHelp(def, prog));
      return 0;
    }
    let socket: string | undefined;
    const ctx: Ctx = { prog, socket: () => (socket ??= socketPath(p.flags.socket as string | undefined, p.flags.config as string | undefined)) };
    return await def.run(p, ctx);
  } catch (e) {
    if (e instanceof UsageError) throw withUsage(e, `${usageLine(def, prog)}\n${more}`);
    if (e instanceof Exit) {
      err(`${e.message}\n`);
      return e.code;
    }
    if (e instanceof UnreachableError) {
      const hint = viaSocket && e.kind === "a regular file" ? ": did you mean -c?" : "";
      err(`sup: ${e.message}${hint}\n`);
      return 3;
    }
    throw e;
  }
}

function withUsage(e: UsageError, usage: string): UsageError {
  e.usage ??= usage;
  return e;
}

/**
 * The verb is the first token that is neither a flag nor the value of -c/-s; the tokens are
 * the rest, in order. After `--` the next token is the verb and everything after it a name.
 */
function findVerb(raw: string[]): { verb: string | undefined; tokens: string[] } {
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i]!;
    if (t === "--") return { verb: raw[i + 1], tokens: [...raw.slice(0, i), "--", ...raw.slice(i + 2)] };
    if (t === "-c" || t === "-s" || t === "--config" || t === "--socket") {
      i++;
      continue;
    }
    if (t.startsWith("-") && t !== "-" && !/^-\d/.test(t)) continue;
    return { verb: t, tokens: [...raw.slice(0, i), ...raw.slice(i + 1)] };
  }
  return { verb: undefined, tokens: raw };
}

function rows(list: readonly (readonly [string, string])[]): string {
  const w = Math.max(...list.map((r) => r[0].length));
  return list.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join("\n");
}

export function ctlVerbList(): string {
  return rows(CTL_VERBS.map((v: Verb) => [`${v.name}${v.synopsis ? " " + v.synopsis : ""}`, v.summary] as const));
}

export function ctlHelp(): string {
  return `usage: sup ctl [-c FILE | -s SOCKET] VERB [FLAGS] [ARGS]    (or: sup VERB ...)

Talk to a running sup through its control socket.

verbs:
${ctlVerbList()}

flags of every verb:
${rows(CTL_FLAGS.filter((f) => f !== HELP).map((f) => [`-${f.short}, --${f.name} ${f.hint}`, f.description] as const))}
  -h, --help  that verb's flags, exit codes and an example

exit codes:
${rows([EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_WANTED].map(([c, m]) => [String(c), m + (c === 4 ? " (status, wait)" : "")] as const))}

environment:
${rows(CTL_ENV)}
`;
}
