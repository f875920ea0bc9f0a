/** Parsers for what `git diff` prints: `--numstat -z` and a multi-file patch. */
import type { ChangedFile } from "@vault-mcp/contract";
import { dropIncompleteTail } from "../process/capped-output.ts";

export interface NumstatEntry extends ChangedFile {
  /** The old path of a rename or copy. */
  from?: string;
}

/**
 * `git diff --numstat -z`. Per file: `added\tdeleted\tpath\0`, or for a rename
 * `added\tdeleted\t\0old\0new\0`; binary files show `-` for both counts (→ null). With -z paths
 * are raw, so a tab or newline in a name is part of the name.
 */
export function parseNumstatEntries(out: string): NumstatEntry[] {
  const tokens = out.split("\0");
  const entries: NumstatEntry[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (token === "") continue;
    const m = /^(-|\d+)\t(-|\d+)\t([\s\S]*)$/.exec(token);
    if (!m) throw new Error(`unexpected numstat record: ${JSON.stringify(token.slice(0, 100))}`);
    const counts = { added: m[1] === "-" ? null : Number(m[1]), deleted: m[2] === "-" ? null : Number(m[2]) };
    if (m[3] !== "") {
      entries.push({ path: m[3] as string, ...counts });
      continue;
    }
    const from = tokens[i + 1];
    const to = tokens[i + 2];
    // Paths are never empty; an empty token here is the record's end, not a name.
    if (!from || !to) throw new Error("numstat rename record is cut short");
    entries.push({ path: to, from, ...counts });
    i += 2;
  }
  return entries;
}

/** The contract's view: one entry per path as it is now (renames under the new name). */
export function parseNumstat(out: string): ChangedFile[] {
  return parseNumstatEntries(out).map(({ path, added, deleted }) => ({ path, added, deleted }));
}

/**
 * Splits a multi-file patch into one chunk per file, in git's order (the same order numstat uses
 * for the same options). Every file section starts with a `diff --git ` line; lines inside hunks
 * start with ' ', '+', '-' or '\', so no hunk line can be taken for one.
 */
export function splitPatch(patch: string): string[] {
  if (patch === "") return [];
  const starts: number[] = [];
  if (patch.startsWith("diff --git ")) starts.push(0);
  for (let at = patch.indexOf("\ndiff --git "); at >= 0; at = patch.indexOf("\ndiff --git ", at + 1))
    starts.push(at + 1);
  return starts.map((s, i) => patch.slice(s, starts[i + 1] ?? patch.length));
}

/** Whether a patch chunk's header names `entry` (guards the numstat ↔ patch pairing). */
export function chunkMatches(chunk: string, entry: NumstatEntry): boolean {
  const nl = chunk.indexOf("\n");
  const header = nl < 0 ? chunk : chunk.slice(0, nl);
  return header === `diff --git a/${entry.from ?? entry.path} b/${entry.path}`;
}

export const DIFF_TRUNCATED_MARK = "\n[diff truncated by vault-mcp]\n";

/** Caps a diff at `maxBytes` of UTF-8 without splitting a character, marking the cut. */
export function capDiff(diff: string, maxBytes: number): string {
  const buf = Buffer.from(diff, "utf8");
  if (buf.length <= maxBytes) return diff;
  return dropIncompleteTail(buf.subarray(0, maxBytes)).toString("utf8") + DIFF_TRUNCATED_MARK;
}
