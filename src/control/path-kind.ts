// Names what is at a control socket path when it is not a socket, for the messages of `sup run`
// (refusing the path) and `sup ctl` (cannot reach it). Reads with lstat: never follows a symlink.
import { lstatSync, readlinkSync } from "node:fs";

/** "a regular file", "a folder", "a FIFO", "a symlink to X", ...; null for a socket or nothing */
export function nonSocketKind(path: string): string | null {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return null;
  }
  if (st.isSocket()) return null;
  if (st.isFile()) return "a regular file";
  if (st.isDirectory()) return "a folder";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSymbolicLink()) {
    try {
      return `a symlink to ${readlinkSync(path)}`;
    } catch {
      return "a symlink";
    }
  }
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  return "not a socket";
}
