// The shell completion scripts, generated from the verbs' declarations: verbs, their flags (and
// the values of --for), signal names, and companion names from `sup __complete names` (the
// running sup within 0.5 s, else the config file). Pure text; loaded only by `sup completion`.
import type { Flag } from "./args.ts";
import { CTL_FLAGS, HELP, type Verb } from "./verb.ts";
import { CTL_VERBS, TOP_VERBS } from "./verbs/index.ts";

type Shell = "bash" | "zsh" | "fish";

const SIGNALS = ["HUP", "INT", "QUIT", "KILL", "USR1", "USR2", "TERM", "CONT", "STOP", "TSTP", "WINCH", "ALRM"];
const verbs = (): Verb[] => [...TOP_VERBS.filter((v) => !v.hidden), ...CTL_VERBS];
const flagsOf = (v: Verb): Flag[] => (v.ctl ? [...v.flags, ...CTL_FLAGS] : [...v.flags, HELP]);
const spellings = (f: Flag) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])];
/** every flag that takes a value, as spelt: the word after it is not a positional */
const valued = () => [...new Set([...CTL_FLAGS, ...verbs().flatMap(flagsOf)].filter((f) => f.type === "string").flatMap(spellings))];
const takesAll = (v: Verb) => v.synopsis.includes("| all");

export function script(shell: Shell): string {
  return shell === "bash" ? bash() : shell === "zsh" ? zsh() : fish();
}

function bash(): string {
  const caseFlags = verbs()
    .map((v) => `    ${v.name}) echo "${flagsOf(v).flatMap(spellings).join(" ")}" ;;`)
    .join("\n");
  const caseArgs = verbs()
    .map((v) => {
      switch (v.positionals) {
        case "names":
          return `    ${v.name}) words="$(_sup_names)${takesAll(v) ? " all" : ""}" ;;`;
        case "signal-then-names":
          return `    ${v.name}) if (( npos == 0 )); then words="${SIGNALS.join(" ")}"; else words="$(_sup_names) all"; fi ;;`;
        case "name-then-count":
          return `    ${v.name}) (( npos == 0 )) && words="$(_sup_names)" ;;`;
        case "shells":
          return `    ${v.name}) (( npos == 0 )) && words="bash zsh fish" ;;`;
        default:
          return null;
      }
    })
    .filter(Boolean)
    .join("\n");
  const choices = verbs()
    .flatMap(flagsOf)
    .filter((f) => f.choices)
    .map((f) => `    ${spellings(f).join("|")}) COMPREPLY=($(compgen -W "${f.choices!.join(" ")}" -- "$cur")); return ;;`);
  return `# sup completion for bash: source <(sup completion bash)
_sup_names() {
  # the -c/-s of the command line being completed, so names come from the same sup
  local args=() i
  for ((i = 1; i < \${#COMP_WORDS[@]}; i++)); do
    case "\${COMP_WORDS[i]}" in
      -c|--config|-s|--socket) args+=("\${COMP_WORDS[i]}" "\${COMP_WORDS[i+1]}") ;;
      --config=*|--socket=*) args+=("\${COMP_WORDS[i]}") ;;
    esac
  done
  command "\${COMP_WORDS[0]}" __complete names "\${args[@]}" 2>/dev/null
}
_sup_flags() {
  case "$1" in
${caseFlags}
  esac
}
_sup() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" verb="" ctl=0 npos=0 i=1 w words=""
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  while (( i < COMP_CWORD )); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      ${valued().join("|")}) (( i += 2 )); continue ;;
      -*) (( i++ )); continue ;;
    esac
    if [[ -z $verb && $ctl == 0 && $w == ctl ]]; then ctl=1
    elif [[ -z $verb ]]; then verb=$w
    else (( npos++ ))
    fi
    (( i++ ))
  done
  COMPREPLY=()
  case "$prev" in
    -c|--config|-s|--socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
${choices.join("\n")}
    ${valued().filter((s) => !["-c", "--config", "-s", "--socket"].includes(s) && !verbs().flatMap(flagsOf).some((f) => f.choices && spellings(f).includes(s))).join("|")}) return ;;
  esac
  if [[ -z $verb ]]; then
    if [[ $cur == -* ]]; then words="${spellingsOf(CTL_FLAGS)}"
    elif (( ctl )); then words="${CTL_VERBS.map((v) => v.name).join(" ")}"
    else words="ctl ${verbs()
      .map((v) => v.name)
      .join(" ")}"
    fi
  elif [[ $cur == -* ]]; then words="$(_sup_flags "$verb")"
  else
    case "$verb" in
${caseArgs}
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _sup sup
`;
}

const spellingsOf = (flags: readonly Flag[]) => flags.flatMap(spellings).join(" ");
const zq = (s: string) => s.replace(/\\/g, "\\\\").replace(/:/g, "\\:").replace(/'/g, "'\\''");

function zsh(): string {
  const described = (list: [string, string][]) => list.map(([n, d]) => `'${zq(n)}:${zq(d)}'`).join(" ");
  const caseFlags = verbs()
    .map((v) => `    ${v.name}) flags=(${described(flagsOf(v).flatMap((f) => spellings(f).map((s) => [s, f.description] as [string, string])))}) ;;`)
    .join("\n");
  const caseArgs = verbs()
    .map((v) => {
      switch (v.positionals) {
        case "names":
          return `    ${v.name}) compadd -- \${(f)"$(_sup_names)"}${takesAll(v) ? " all" : ""} ;;`;
        case "signal-then-names":
          return `    ${v.name}) if (( npos == 0 )); then compadd -- ${SIGNALS.join(" ")}; else compadd -- \${(f)"$(_sup_names)"} all; fi ;;`;
        case "name-then-count":
          return `    ${v.name}) (( npos == 0 )) && compadd -- \${(f)"$(_sup_names)"} ;;`;
        case "shells":
          return `    ${v.name}) (( npos == 0 )) && compadd -- bash zsh fish ;;`;
        default:
          return null;
      }
    })
    .filter(Boolean)
    .join("\n");
  const choices = verbs()
    .flatMap(flagsOf)
    .filter((f) => f.choices)
    .map((f) => `    ${spellings(f).join("|")}) compadd -- ${f.choices!.join(" ")}; return ;;`);
  return `#compdef sup
# sup completion for zsh: source <(sup completion zsh)
_sup_names() {
  local -a args
  local i
  for (( i = 2; i <= \${#words}; i++ )); do
    case "\${words[i]}" in
      -c|--config|-s|--socket) args+=("\${words[i]}" "\${words[i+1]}") ;;
      --config=*|--socket=*) args+=("\${words[i]}") ;;
    esac
  done
  command "\${words[1]}" __complete names "\${args[@]}" 2>/dev/null
}
_sup() {
  local verb="" ctl=0 npos=0 i=2 w prev="\${words[CURRENT-1]}"
  local -a flags
  while (( i < CURRENT )); do
    w="\${words[i]}"
    case "$w" in
      ${valued().join("|")}) (( i += 2 )); continue ;;
      -*) (( i++ )); continue ;;
    esac
    if [[ -z $verb && $ctl == 0 && $w == ctl ]]; then ctl=1
    elif [[ -z $verb ]]; then verb=$w
    else (( npos++ ))
    fi
    (( i++ ))
  done
  case "$prev" in
    -c|--config|-s|--socket) _files; return ;;
${choices.join("\n")}
    ${valued().filter((s) => !["-c", "--config", "-s", "--socket"].includes(s) && !verbs().flatMap(flagsOf).some((f) => f.choices && spellings(f).includes(s))).join("|")}) return ;;
  esac
  if [[ -z $verb ]]; then
    if [[ \${words[CURRENT]} == -* ]]; then
      flags=(${described(CTL_FLAGS.flatMap((f) => spellings(f).map((s) => [s, f.description] as [string, string])))})
      _describe -t flags flag flags
    else
      local -a vs
      vs=(${described((ctlOnlyOr()).map((v) => [v.name, v.summary]))})
      (( ctl )) && vs=(${described(CTL_VERBS.map((v) => [v.name, v.summary]))})
      _describe -t verbs verb vs
    fi
    return
  fi
  if [[ \${words[CURRENT]} == -* ]]; then
    case "$verb" in
${caseFlags}
    esac
    _describe -t flags flag flags
    return
  fi
  case "$verb" in
${caseArgs}
  esac
}
compdef _sup sup
`;
}

const ctlOnlyOr = (): { name: string; summary: string }[] => [{ name: "ctl", summary: "talk to a running sup" }, ...verbs()];

function fish(): string {
  const all = verbs();
  const names = all.map((v) => v.name).join(" ");
  const lines = [
    "# sup completion for fish: sup completion fish | source",
    "function __sup_names",
    "    set -l args",
    "    set -l toks (commandline -opc)",
    "    for i in (seq 2 (count $toks))",
    "        switch $toks[$i]",
    "            case -c --config -s --socket",
    "                set -a args $toks[$i] $toks[(math $i + 1)]",
    "            case '--config=*' '--socket=*'",
    "                set -a args $toks[$i]",
    "        end",
    "    end",
    "    command $toks[1] __complete names $args 2>/dev/null",
    "end",
    "complete -c sup -f",
    `complete -c sup -n "not __fish_seen_subcommand_from ctl ${names}" -a ctl -d 'talk to a running sup'`,
  ];
  const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  for (const v of all) {
    const cond = v.ctl ? `not __fish_seen_subcommand_from ${names}` : `not __fish_seen_subcommand_from ctl ${names}`;
    lines.push(`complete -c sup -n "${cond}" -a ${v.name} -d ${q(v.summary)}`);
    for (const f of flagsOf(v)) {
      const value = f.type === "string" ? (f.choices ? ` -r -a ${q(f.choices.join(" "))}` : f.name === "config" || f.name === "socket" ? " -r -F" : " -r") : "";
      lines.push(`complete -c sup -n "__fish_seen_subcommand_from ${v.name}" -l ${f.name}${f.short ? ` -s ${f.short}` : ""}${value} -d ${q(f.description)}`);
    }
    const seen = `__fish_seen_subcommand_from ${v.name}`;
    if (v.positionals === "names") lines.push(`complete -c sup -n "${seen}" -a "(__sup_names)${takesAll(v) ? " all" : ""}"`);
    if (v.positionals === "signal-then-names") lines.push(`complete -c sup -n "${seen}" -a "${SIGNALS.join(" ")} (__sup_names) all"`);
    if (v.positionals === "name-then-count") lines.push(`complete -c sup -n "${seen}" -a "(__sup_names)"`);
    if (v.positionals === "shells") lines.push(`complete -c sup -n "${seen}" -a "bash zsh fish"`);
  }
  return lines.join("\n") + "\n";
}
