// `sup ctl` finds [sup].socket by a scan of the text; anything it cannot read plainly falls
// back to a full TOML parse, so the scan may only ever agree with TOML.
import { expect, test } from "bun:test";
import { scanSocket } from "../../src/cli/ctl.ts";

const viaToml = (text: string) => {
  const raw = Bun.TOML.parse(text) as { sup?: { socket?: unknown } };
  return typeof raw.sup?.socket === "string" ? raw.sup.socket : null;
};

const cases: [string, string][] = [
  ["plain", '[sup]\nsocket = "run/sup.sock"\n[companions.a]\ncommand = "x"\n'],
  ["literal string and comment", "# top\n[sup] # the section\nsocket = 'a b.sock' # here\n"],
  ["quoted key", '[sup]\n"socket" = "q.sock"\n'],
  ["absent", '[sup]\nfail_fast = true\n[companions.a]\ncommand = "x"\n'],
  ["no [sup]", '[companions.a]\ncommand = "x"\n'],
  ["socket in another table", '[companions.socket]\nsocket = "no"\ncommand = "x"\n'],
  ["after the sup table", '[sup]\nfail_fast = true\n[defaults]\nsocket_x = 1\n'],
];

for (const [name, text] of cases) {
  test(`scan agrees with TOML: ${name}`, () => {
    const scanned = scanSocket(text);
    expect(scanned).not.toBeUndefined();
    expect(scanned).toBe(viaToml(text));
  });
}

const unclear: [string, string][] = [
  ["escapes", '[sup]\nsocket = "a\\\\tb.sock"\n'],
  ["dotted at the top", 'sup.socket = "d.sock"\n'],
  ["inline table at the top", 'sup = { socket = "i.sock" }\n'],
  ["multi-line string", '[sup]\nsocket = """m.sock"""\n'],
];

for (const [name, text] of unclear) {
  test(`scan defers to TOML: ${name}`, () => {
    expect(scanSocket(text)).toBeUndefined();
  });
}
