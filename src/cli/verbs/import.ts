// `sup import FILE [-o OUT]`: a supervisord config or a Procfile as sup.toml (contract §13), on
// stdout or into OUT (never over an existing file without --force); what could not be mapped is
// listed on stderr, one warning a line. The converters live in src/import/.
import { UsageError } from "../args.ts";
import { err, out } from "../output.ts";
import type { Verb } from "../verb.ts";

const FORMATS = ["supervisord", "procfile"] as const;
type Format = (typeof FORMATS)[number];

/** a supervisord section header, any kind */
const SUPERVISORD_SECTION = /^[ \t]*\[(program:|group:|eventlistener:|fcgi-program:|rpcinterface:|ctlplugin:|supervisord\]|supervisorctl\]|unix_http_server\]|inet_http_server\]|include\])/m;

/** which format a file is in: a file named Procfile*, a supervisord section, or only `name: command` lines */
export function detect(name: string, text: string): Format | null {
  if (/^procfile/i.test(name.slice(name.lastIndexOf("/") + 1))) return "procfile";
  if (SUPERVISORD_SECTION.test(text)) return "supervisord";
  const lines = text.split(/\r\n|\n|\r/).filter((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  if (lines.length && lines.every((l) => /^[A-Za-z0-9_-]+:\s*\S/.test(l))) return "procfile";
  return null;
}

export const importVerb: Verb = {
  name: "import",
  summary: "write sup.toml from a supervisord config or a Procfile",
  synopsis: "FILE",
  flags: [
    { name: "output", short: "o", type: "string", hint: "OUT", description: "write sup.toml to OUT instead of stdout (never over an existing file)" },
    { name: "force", type: "boolean", description: "with -o: overwrite OUT if it exists" },
    { name: "from", type: "string", choices: FORMATS, description: "the format of FILE, when its name and content do not tell" },
  ],
  exits: [
    [0, "written (warnings on stderr list what has no sup equivalent)"],
    [1, "not written: FILE cannot be read or is in neither format, or OUT exists (without --force)"],
    [2, "usage error"],
  ],
  env: [],
  example: "sup import /etc/supervisor/supervisord.conf -o sup.toml && sup check",
  notes: [
    "FILE is a supervisord .conf/.ini (its [include] files are read too, relative to it) or a",
    "Procfile (a .env beside it becomes env_file). Relative paths in the output are written for",
    "the folder of OUT (else the current folder), where sup.toml resolves them. `sup check` accepts",
    "what it writes; each line on stderr names a key it could not map and where it was.",
  ].join("\n"),
  ctl: false,
  positionals: "none",
  async run(p) {
    if (!p.args.length) throw new UsageError("name the file to import (sup import supervisord.conf, sup import Procfile)");
    if (p.args.length > 1) throw new UsageError(`unexpected argument '${p.args[1]}' (one FILE at a time)`);
    const output = p.flags.output as string | undefined;
    if (p.flags.force && output === undefined) throw new UsageError("--force goes with -o OUT (stdout is never refused)");
    const { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } = await import("node:fs");
    const { dirname, isAbsolute, join, relative, resolve } = await import("node:path");
    const given = p.args[0]!;
    const file = resolve(given);
    const show = (path: string) => {
      const r = relative(process.cwd(), path);
      return r && !r.startsWith("..") && !isAbsolute(r) ? r : path;
    };
    const why = (e: unknown) => {
      const code = (e as NodeJS.ErrnoException).code;
      return code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a folder" : code === "EACCES" ? "permission denied" : (e as Error).message;
    };
    /** the files an absolute glob pattern matches, sorted (as Python's glob: `*` skips dot files) */
    const glob = (pattern: string): string[] => {
      const parts = pattern.split("/");
      const magic = parts.findIndex((s) => /[*?[]/.test(s));
      try {
        if (magic === -1) return statSync(pattern).isFile() ? [pattern] : [];
        const cwd = parts.slice(0, magic).join("/") || "/";
        return [...new Bun.Glob(parts.slice(magic).join("/")).scanSync({ cwd, absolute: true, onlyFiles: true })].sort();
      } catch {
        return [];
      }
    };
    const read = (path: string): string | null => {
      try {
        return readFileSync(path, "utf8");
      } catch {
        return null;
      }
    };

    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      err(`sup: cannot read ${given}: ${why(e)}\n`);
      return 1;
    }
    const outFile = output === undefined ? null : resolve(output);
    if (outFile && !p.flags.force && existsSync(outFile)) {
      err(`sup: not written: ${output}: it exists already; sup import never overwrites it (--force does)\n`);
      return 1;
    }
    const format = (p.flags.from as Format | undefined) ?? detect(file, text);
    if (!format) {
      err(
        `sup: ${given}: neither a supervisord config (no [program:x] or other supervisord section) nor a Procfile (only "name: command" lines); --from supervisord|procfile says which it is\n`,
      );
      return 1;
    }
    const outDir = outFile ? dirname(outFile) : process.cwd();

    let result: import("../../import/toml.ts").Converted;
    if (format === "supervisord") {
      const { fromSupervisord } = await import("../../import/supervisord.ts");
      const { hostname } = await import("node:os");
      result = fromSupervisord({ file, text, outDir, env: process.env, hostname: hostname(), read, glob, show });
    } else {
      const { fromProcfile } = await import("../../import/procfile.ts");
      const envPath = join(dirname(file), ".env");
      let dotenv: { path: string; text: string } | null = null;
      try {
        if (statSync(envPath).isFile()) dotenv = { path: envPath, text: readFileSync(envPath, "utf8") };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") err(`warning: ${show(envPath)} cannot be read (${why(e)}): not used\n`);
      }
      result = fromProcfile({ file, text, outDir, dotenv, show });
    }
    try {
      Bun.TOML.parse(result.toml);
    } catch (e) {
      // never write a file sup cannot read: this is a bug of the importer, said as one
      err(`sup: internal error: the sup.toml made from ${given} does not parse (${(e as Error).message}); nothing written\n`);
      return 1;
    }
    if (result.warnings.length) err(result.warnings.map((w) => `warning: ${w}\n`).join(""));

    if (!outFile) {
      out(result.toml);
      return 0;
    }
    let fd: number;
    try {
      fd = openSync(outFile, p.flags.force ? "w" : "wx", 0o644);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      err(`sup: not written: ${output}: ${code === "EEXIST" ? "it exists already; sup import never overwrites it (--force does)" : code === "ENOENT" ? "its folder does not exist" : why(e)}\n`);
      return 1;
    }
    try {
      writeSync(fd, result.toml);
    } finally {
      closeSync(fd);
    }
    const n = result.companions.length;
    const check = show(outFile) === "sup.toml" ? "sup check" : `sup check -c ${show(outFile)}`;
    const warned = result.warnings.length ? `; ${result.warnings.length} warning${result.warnings.length === 1 ? "" : "s"} above` : "";
    out(`wrote ${show(outFile)}: ${n} companion${n === 1 ? "" : "s"}${n ? `: ${result.companions.join(", ")}` : ""}${warned}; next: ${check}\n`);
    return 0;
  },
};
