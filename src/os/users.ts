// Users and groups by name or id, from /etc/passwd and /etc/group (what getpwnam, getgrnam and
// getgrouplist read on a plain Linux host; NSS sources such as LDAP are not consulted). Read
// fresh on every call: a spawn sees the accounts as they are now.
import { readFileSync } from "node:fs";

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
}
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function read(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

export function parsePasswd(text: string): UserEntry[] {
  const out: UserEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || line.startsWith("#") || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 3 || line.startsWith("#") || !/^\d+$/.test(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? "").split(",").map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

/** the account database, as two lists; tests pass their own */
export interface Accounts {
  users: UserEntry[];
  groups: GroupEntry[];
}

export function systemAccounts(passwd = "/etc/passwd", group = "/etc/group"): Accounts {
  return { users: parsePasswd(read(passwd)), groups: parseGroup(read(group)) };
}

/** a user by name, or by numeric id (a number, or a string of digits when no user has that name) */
export function findUser(acc: Accounts, v: string | number): UserEntry | null {
  if (typeof v === "string") {
    const byName = acc.users.find((u) => u.name === v);
    if (byName || !/^\d+$/.test(v)) return byName ?? null;
    v = Number(v);
  }
  return acc.users.find((u) => u.uid === v) ?? null;
}

export function findGroup(acc: Accounts, v: string | number): GroupEntry | null {
  if (typeof v === "string") {
    const byName = acc.groups.find((g) => g.name === v);
    if (byName || !/^\d+$/.test(v)) return byName ?? null;
    v = Number(v);
  }
  return acc.groups.find((g) => g.gid === v) ?? null;
}

/** getgrouplist(3): the primary gid first, then every group that lists `user` as a member */
export function groupList(acc: Accounts, user: string, gid: number): number[] {
  const out = [gid];
  for (const g of acc.groups) if (g.members.includes(user) && !out.includes(g.gid)) out.push(g.gid);
  return out;
}

/** whom a companion runs as: uid, gid and the supplementary groups (empty object: sup's own) */
export interface Identity {
  uid?: number;
  gid?: number;
  groups?: number[];
}

/**
 * `user` / `group` as the config writes them -> the ids to run with, as initgroups(3) would set
 * them: the user's primary group unless `group` says otherwise, and every group listing the
 * user. A numeric id without an entry is taken as it is (a uid then needs `group`).
 */
export function resolveIdentity(
  acc: Accounts,
  user: string | number | null,
  group: string | number | null,
): { ok: true; id: Identity } | { ok: false; key: "user" | "group"; message: string } {
  let gid: number | undefined;
  if (group !== null) {
    const g = findGroup(acc, group);
    if (!g && typeof group === "string" && !/^\d+$/.test(group)) return { ok: false, key: "group", message: `unknown group ${JSON.stringify(group)} (not in /etc/group)` };
    gid = g ? g.gid : Number(group);
  }
  if (user === null) return { ok: true, id: gid === undefined ? {} : { gid, groups: [gid] } };
  const u = findUser(acc, user);
  if (!u) {
    if (typeof user === "string" && !/^\d+$/.test(user)) return { ok: false, key: "user", message: `unknown user ${JSON.stringify(user)} (not in /etc/passwd)` };
    if (gid === undefined) return { ok: false, key: "user", message: `user ${user} has no entry in /etc/passwd: set group too` };
    return { ok: true, id: { uid: Number(user), gid, groups: [gid] } };
  }
  gid ??= u.gid;
  return { ok: true, id: { uid: u.uid, gid, groups: groupList(acc, u.name, gid) } };
}
