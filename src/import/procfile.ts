// `sup import Procfile` (contract §13): one companion per `name: command` line, run as foreman
// runs it (a shell line), with foreman's PORT, and the .env beside the Procfile as env_file.
// Pure: the files come in through ProcfileSource.
import { relative } from "node:path";
import { parseEnvFile } from "../config/env.ts";
import { NAME_RE } from "../config/schema.ts";
import { type Converted, render, type Row, type Table } from "./toml.ts";

export interface ProcfileSource {
  /** absolute path of the Procfile */
  file: string;
  text: string;
  /** the folder the written sup.toml will live in: env_file is written relative to it */
  outDir: string;
  /** the .env beside the Procfile (absolute path and text), or null when there is none */
  dotenv: { path: string; text: string } | null;
  /** a file's name in messages */
  show(path: string): string;
}

/** foreman's (and honcho's) line: a name of letters, digits, "_", "-", a colon, a command */
export const PROCFILE_LINE = /^([A-Za-z0-9_-]+):\s*(.+)$/;
/** foreman and honcho give each line a port: base (5000, or PORT from .env) + 100 × its place */
const BASE_PORT = 5000;

export function fromProcfile(src: ProcfileSource): Converted {
  const warnings: string[] = [];
  const at = (line: number) => ` (${src.show(src.file)}:${line})`;
  const entries: { name: string; command: string; line: number }[] = [];
  const seen = new Set<string>();
  src.text.split(/\r\n|\n|\r/).forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (t === "" || t.startsWith("#")) return;
    const bare = /^([A-Za-z0-9_-]+):\s*$/.exec(raw);
    if (bare) {
      warnings.push(`line ${line} gives ${bare[1]} no command: skipped${at(line)}`);
      return;
    }
    const m = PROCFILE_LINE.exec(raw.trimEnd());
    if (!m) {
      warnings.push(`line ${line} is not "name: command" (foreman skips it too): ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw)}${at(line)}`);
      return;
    }
    const [, given, command] = m;
    let name = given!;
    if (!NAME_RE.test(name)) name = `_${name}`;
    if (name === "all") name = "all_";
    if (seen.has(name)) {
      warnings.push(`${given} is named twice: the second line is left out${at(line)}`);
      return;
    }
    seen.add(name);
    if (name !== given) warnings.push(`${given} is named ${name} in sup (names start with a letter, digit or "_"; "all" is reserved)${at(line)}`);
    if (name === "release") warnings.push(`release is Heroku's once-per-deploy step: imported with restart = "never" (remove it if a deploy runs it)${at(line)}`);
    entries.push({ name, command: command!.trim(), line });
  });
  if (!entries.length) warnings.push(`no "name: command" line in ${src.show(src.file)}: the file has no companion (sup check refuses a file without one)`);

  let base = BASE_PORT;
  let baseFrom = `${BASE_PORT}`;
  if (src.dotenv) {
    const port = parseEnvFile(src.dotenv.text).PORT;
    if (port !== undefined && /^\d+$/.test(port.trim()) && Number(port) + 100 * Math.max(0, entries.length - 1) <= 65535) {
      base = Number(port);
      baseFrom = `.env's PORT, ${base}`;
    }
  }

  const defaults: Row[] = [];
  if (src.dotenv) {
    const rel = relative(src.outDir, src.dotenv.path) || ".env";
    defaults.push({ key: "env_file", value: rel, comment: `the .env beside the Procfile (the path is relative to this file's folder)` });
  }
  const tables: Table[] = [
    { path: ["sup"], rows: [{ comment: "fail_fast = true    # as foreman and honcho: one companion ending stops them all" }] },
    ...(defaults.length ? [{ path: ["defaults"], rows: defaults }] : []),
    ...entries.map(
      (e, i): Table => ({
        path: ["companions", e.name],
        rows: [
          { key: "command", value: e.command },
          { key: "env", value: { PORT: String(base + 100 * i) }, comment: `foreman's PORT: ${baseFrom} + 100 × ${i}` },
          ...(e.name === "release" ? [{ key: "restart", value: "never", comment: "Heroku runs release once per deploy, not as a service" }] : []),
        ],
      }),
    ),
  ];
  const head = [
    `sup.toml, imported by \`sup import\` from ${src.show(src.file)}; check it with \`sup check\`.`,
    "How it reads (see README, \"Coming from supervisord or a Procfile\"):",
    "- one companion per line; a command is a shell line, as foreman runs it (sh -c, or exec'd",
    "  directly when it has no shell syntax), with PORT set as foreman and honcho set it",
    "- a companion that ends is restarted (foreman stops everything instead: [sup] fail_fast)",
  ];
  return { toml: render(tables, head), warnings, companions: entries.map((e) => e.name) };
}
