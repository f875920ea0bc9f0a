/**
 * GET /jobs/:id/diff: the unified diff of a job's commit against its base, for a reviewer (a model)
 * to read in pages of at most MAX_DIFF_PAGE_BYTES, the diffstat first. Stateless: each page runs the
 * same `git diff` in the repo (the executor's git: hooks, fsmonitor, external diff and textconv
 * off) and cuts it at the cursor, a byte offset bound to the commit. Pages end after a newline when
 * one fits, else on a character boundary, so their texts concatenated are the whole diff. Binary
 * files appear as git's "Binary files … differ" line, never their bytes.
 */
import { type DiffPage, type DiffSide, type DiffStat, MAX_DIFF_PAGE_BYTES } from "@vault-mcp/contract";
import { parseNumstat } from "../worktree/diff-parse.ts";
import { git, gitStatus } from "../worktree/git.ts";

/** Diffs longer than this are served up to here, flagged `truncated`. */
export const MAX_DIFF_BYTES = 16 * 1024 * 1024;

const DIFF = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--find-renames", "--no-relative"];

export class BadCursorError extends Error {
  override readonly name = "BadCursorError";
}

interface Cursor {
  o: number;
  c: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

function decodeCursor(s: string, commit: string): number {
  let c: Partial<Cursor>;
  try {
    c = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as Partial<Cursor>;
  } catch {
    throw new BadCursorError("cursor is not one this executor gave; start again without it");
  }
  if (!Number.isSafeInteger(c.o) || (c.o as number) < 0 || c.c !== commit)
    throw new BadCursorError("cursor belongs to another diff; start again without it");
  return c.o as number;
}

/** Where a page starting at `from` ends: after its last newline, else on a UTF-8 character boundary. */
export function pageEnd(buf: Buffer, from: number, limit = MAX_DIFF_PAGE_BYTES): number {
  const max = from + limit;
  if (max >= buf.length) return buf.length;
  const nl = buf.lastIndexOf(0x0a, max - 1);
  if (nl >= from) return nl + 1;
  let end = max;
  // A continuation byte (10xxxxxx) belongs to the character before it.
  while (end > from && ((buf[end] as number) & 0xc0) === 0x80) end--;
  return end > from ? end : max;
}

export interface DiffTarget {
  repoDir: string;
  jobId: string;
  side: DiffSide;
  base: string;
  /** null: the side changed nothing. */
  commit: string | null;
}

export async function diffStat(t: DiffTarget): Promise<DiffStat> {
  if (t.commit === null) return { files: [], added: 0, deleted: 0 };
  const files = parseNumstat(await git(t.repoDir, [...DIFF, "--numstat", "-z", t.base, t.commit, "--"]));
  return {
    files,
    added: files.reduce((n, f) => n + (f.added ?? 0), 0),
    deleted: files.reduce((n, f) => n + (f.deleted ?? 0), 0),
  };
}

export async function diffPage(t: DiffTarget, cursor: string | undefined): Promise<DiffPage> {
  const from = cursor === undefined ? 0 : decodeCursor(cursor, t.commit ?? "");
  let buf = Buffer.alloc(0);
  let truncated = false;
  if (t.commit !== null) {
    const out = await gitStatus(t.repoDir, [...DIFF, "--src-prefix=a/", "--dst-prefix=b/", t.base, t.commit, "--"], {
      maxOutputBytes: MAX_DIFF_BYTES,
      allowTruncated: true,
      timeoutMs: 60_000,
    });
    buf = Buffer.from(out.stdout, "utf8");
    truncated = out.truncated;
  }
  if (from > buf.length) throw new BadCursorError("cursor is past the end of the diff; start again without it");
  const end = pageEnd(buf, from);
  return {
    jobId: t.jobId,
    side: t.side,
    base: t.base,
    commit: t.commit,
    stat: cursor === undefined ? await diffStat(t) : null,
    text: buf.subarray(from, end).toString("utf8"),
    cursor: end < buf.length ? encodeCursor({ o: end, c: t.commit ?? "" }) : null,
    truncated,
  };
}
