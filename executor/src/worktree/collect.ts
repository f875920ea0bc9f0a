/**
 * What a job changed in its tree: everything staged (`add -A`), listed against the base commit
 * (a CLI that committed its own work still gets it listed) and committed on vault/<jobId>; per-file
 * diffs when asked (consensus compares them). Every command goes through the tree's own git
 * directory (treeGit), never through the `.git` file the agent may have rewritten.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import type { Worktree, WorktreeOutcome } from "../interfaces.ts";
import { log } from "../log.ts";
import {
  capDiff,
  chunkMatches,
  DIFF_TRUNCATED_MARK,
  type NumstatEntry,
  parseNumstatEntries,
  splitPatch,
} from "./diff-parse.ts";
import { treeGit } from "./git.ts";

const AUTHOR = ["-c", "user.name=vault-executor", "-c", "user.email=vault-executor@localhost"];

export interface DiffLimits {
  /** Cap per file in `diffs` (default 64 KiB). */
  maxDiffBytes?: number;
  /** Cap on the whole patch read for `diffs` (default 8 MiB); files past it get no entry. */
  maxPatchBytes?: number;
}

export async function collectTree(
  wt: Worktree,
  opts: { diffs?: boolean },
  limits: DiffLimits,
): Promise<WorktreeOutcome> {
  // A git killed mid-command (a CLI without the sandbox, or ours on a timeout) leaves index.lock and
  // every later command fails; nothing can hold it now (the run's processes are gone): it is stale.
  await rm(path.join(wt.gitDir, "index.lock"), { force: true });
  // The CLI may have switched branch or detached HEAD: bring the job branch to where it is now,
  // keeping the index and files, so the result always lands on vault/<jobId>.
  const head = await treeGit(wt, ["symbolic-ref", "-q", "HEAD"], { okCodes: [0, 1] });
  if (head.stdout.trim() !== `refs/heads/${wt.branch}`) await treeGit(wt, ["checkout", "-q", "-B", wt.branch]);

  await treeGit(wt, ["add", "-A"]);
  // Against the base commit, not HEAD: a CLI that committed its own work still gets it listed.
  const diffArgs = ["diff", "--cached", "--find-renames", "--no-ext-diff", "--no-textconv", "--no-color"];
  const numstat = await treeGit(wt, [...diffArgs, "--numstat", "-z", wt.baseCommit, "--"]);
  const entries = parseNumstatEntries(numstat.stdout);

  const staged = await treeGit(wt, ["diff", "--cached", "--quiet"], { okCodes: [0, 1] });
  if (staged.exitCode === 1)
    await treeGit(wt, [...AUTHOR, "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", `vault: ${wt.branch}`]);
  const tip = (await treeGit(wt, ["rev-parse", "HEAD"])).stdout.trim();

  const diffs = opts.diffs && entries.length > 0 ? await treeDiffs(wt, diffArgs, entries, limits) : {};
  return {
    files: entries.map(({ path: p, added, deleted }) => ({ path: p, added, deleted })),
    commit: tip === wt.baseCommit ? null : tip,
    diffs,
  };
}

/** One patch for all files, split in numstat's order; checked against each chunk's header. */
async function treeDiffs(
  wt: Worktree,
  diffArgs: string[],
  entries: NumstatEntry[],
  limits: DiffLimits,
): Promise<Record<string, string>> {
  const patch = await treeGit(wt, [...diffArgs, "--src-prefix=a/", "--dst-prefix=b/", wt.baseCommit, "--"], {
    maxOutputBytes: limits.maxPatchBytes ?? 8 * 1024 * 1024,
    allowTruncated: true,
  });
  const chunks = splitPatch(patch.stdout);
  const diffs: Record<string, string> = {};
  for (const [i, entry] of entries.entries()) {
    let chunk = chunks[i];
    if (chunk === undefined) break;
    // Quoted headers (a tab or quote in the name) cannot be compared cheaply; order still holds.
    if (!chunk.startsWith('diff --git "') && !chunkMatches(chunk, entry)) {
      log("warn", "worktree_patch_order_mismatch", { branch: wt.branch, path: entry.path });
      return {};
    }
    if (patch.truncated && i === chunks.length - 1) chunk += DIFF_TRUNCATED_MARK;
    diffs[entry.path] = capDiff(chunk, limits.maxDiffBytes ?? 64 * 1024);
  }
  return diffs;
}
