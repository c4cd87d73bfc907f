// sup's own log lines: one per event, timestamped, to stderr (the operator's terminal or the
// container log). The only writer of sup's own diagnostics.
const role = { name: "sup" };

export function setLogRole(name: string): void {
  role.name = name;
}

// a closed terminal or log pipe must never take sup down with it
process.stderr.on?.("error", () => {});

export function log(message: string): void {
  const t = new Date().toISOString().replace("T", " ").replace("Z", "");
  process.stderr.write(`${t} ${role.name}: ${message}\n`);
}
