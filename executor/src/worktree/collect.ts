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
import { GitError } from "./errors.ts";
import { treeGit } from "./git.ts";
import { commonDirOf, readHead, readRef } from "./refs.ts";

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
  // keeping the index and files, so the result always lands on vault/<jobId>. HEAD and the branch's
  // commit are read from the git directory's files when they say it plainly (refs.ts); on a job's
  // path each git process saved is a few milliseconds.
  const branchRef = `refs/heads/${wt.branch}`;
  const head = await readHead(wt.gitDir);
  const onBranch =
    head !== null
      ? "ref" in head && head.ref === branchRef
      : (await treeGit(wt, ["symbolic-ref", "-q", "HEAD"], { okCodes: [0, 1] })).stdout.trim() === branchRef;
  if (!onBranch) await treeGit(wt, ["checkout", "-q", "-B", wt.branch]);
  const headCommit = async () =>
    (await readRef(commonDirOf(wt.gitDir), branchRef)) ?? (await treeGit(wt, ["rev-parse", "HEAD"])).stdout.trim();
  const before = await headCommit();

  await treeGit(wt, ["add", "-A"]);
  // Against the base commit, not HEAD: a CLI that committed its own work still gets it listed. The
  // listing and the commit both only read the index once it is staged: they run side by side.
  const diffArgs = ["diff", "--cached", "--find-renames", "--no-ext-diff", "--no-textconv", "--no-color"];
  const commitArgs = [...AUTHOR, "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", `vault: ${wt.branch}`];
  // 1: nothing staged (nothing to commit), which the listing and the tip below tell apart from a failure.
  const [numstat, committed] = await Promise.all([
    treeGit(wt, [...diffArgs, "--numstat", "-z", wt.baseCommit, "--"]),
    treeGit(wt, commitArgs, { okCodes: [0, 1] }),
  ]);
  const entries = parseNumstatEntries(numstat.stdout);
  const tip = await headCommit();
  // With HEAD at the base before, changed files must have made a commit; after a commit of the CLI's
  // own, whether anything more was staged is git's to say.
  if (committed.exitCode === 1 && before === wt.baseCommit && entries.length > 0)
    throw new GitError(`git commit made no commit of ${entries.length} changed file(s)`, committed.stdout, commitArgs);

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
