/**
 * Whether two runs made the same change to one file, from the unified diffs `git diff --cached`
 * printed in each worktree (both start from the same base commit).
 *
 * Two signals, strongest first:
 * 1. The post-image blob id on the `index <old>..<new>` line: equal ids mean byte-identical
 *    results, whatever the diff text looks like (also for binary files, mode-only changes and
 *    diffs cut at the collector's size cap).
 * 2. Otherwise the changed lines (`+`/`-` after the first hunk header) with all whitespace removed
 *    and blank-line changes dropped: the same edit indented or wrapped differently compares equal.
 *    Context lines and hunk positions are ignored, so the same edit at a shifted offset matches.
 * A missing diff (the collector stops after 50 files) or a change with no text lines to compare
 * (binary, mode) counts as not the same: `same: true` is a claim, so it needs evidence.
 */
const POST_IMAGE = /^index [0-9a-f]+\.\.([0-9a-f]+)/m;
/** git abbreviates blob ids to at least 7 hex digits; two abbreviations agree when one prefixes the other. */
const MIN_ID = 7;

function postImage(diff: string): string | null {
  return POST_IMAGE.exec(diff)?.[1] ?? null;
}

function sameBlob(a: string | null, b: string | null): boolean {
  if (a === null || b === null || Math.min(a.length, b.length) < MIN_ID) return false;
  return a.length <= b.length ? b.startsWith(a) : a.startsWith(b);
}

/** The whitespace-free changed lines of a diff, in order. A removed `-- comment` line (`--- comment`) is a change, not a header, once inside a hunk. */
export function changedLines(diff: string): string[] {
  const out: string[] = [];
  let inHunk = false;
  for (const line of diff.split("\n")) {
    if (line.startsWith("diff --git ")) inHunk = false;
    else if (line.startsWith("@@")) inHunk = true;
    else if (inHunk && (line.startsWith("+") || line.startsWith("-"))) {
      const body = line.slice(1).replace(/\s+/g, "");
      if (body !== "") out.push(line[0] + body);
    }
  }
  return out;
}

export function sameDiff(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (sameBlob(postImage(a), postImage(b))) return true;
  const ca = changedLines(a);
  const cb = changedLines(b);
  if (ca.length === 0 && cb.length === 0) return false;
  return ca.length === cb.length && ca.every((l, i) => l === cb[i]);
}
