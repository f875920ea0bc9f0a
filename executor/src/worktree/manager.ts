/**
 * One git worktree per job, on its own branch `vault/<jobId>`, of an allowlisted repo.
 *
 * Creating a worktree writes every file; on a large repo that dominates job start-up. So a finished
 * tree is cleaned on release (`checkout -f --detach` + `clean -ffdx`, off the job's critical path)
 * and goes back to a small per-repo pool; the next job's acquire is one `checkout -f -B`, which only
 * touches the files that differ (bench/executor-worktree.bench.ts measures it).
 *
 * Branches: a job branch with a commit is kept (it is the job's output: the caller fetches it); one
 * without (the CLI changed nothing) is deleted on release, so idle jobs do not pile up refs.
 * Failed trees are kept for `keepFailedMs`, then `sweep()` removes them; sweep also adopts trees
 * left by a previous process (see slot-state.ts).
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { Worktree, WorktreeManager, WorktreeOutcome } from "../interfaces.ts";
import { log } from "../log.ts";
import {
  capDiff,
  chunkMatches,
  DIFF_TRUNCATED_MARK,
  type NumstatEntry,
  parseNumstatEntries,
  splitPatch,
} from "./diff-parse.ts";
import { RefNotFoundError, UnknownWorktreeError, WorktreeError } from "./errors.ts";
import { git, gitStatus } from "./git.ts";
import { clearSlotState, readSlotState, type SlotState, STATE_SUFFIX, writeSlotState } from "./slot-state.ts";
import { availableRepos, checkJobId, checkRef, resolveRepo } from "./validate.ts";

export { parseNumstat } from "./diff-parse.ts";
export {
  GitError,
  InvalidJobIdError,
  InvalidRefError,
  RefNotFoundError,
  RepoNotAllowedError,
  UnknownWorktreeError,
  WorktreeError,
} from "./errors.ts";

export interface WorktreeOptions {
  reposDir: string;
  worktreesDir: string;
  /** Repo names jobs may use; empty = every git repo directly inside reposDir. */
  allowlist: readonly string[];
  /** How long a failed job's tree is kept for inspection. */
  keepFailedMs: number;
  /** Cleaned trees kept per repo for reuse; 0 disables the pool. */
  poolSize: number;
  /** Cap per file in `diffs` (default 64 KiB). */
  maxDiffBytes?: number;
  /** Cap on the whole patch read for `diffs` (default 8 MiB); files past it get no entry. */
  maxPatchBytes?: number;
  now?: () => number;
}

const AUTHOR = ["-c", "user.name=vault-executor", "-c", "user.email=vault-executor@localhost"];

interface Held {
  repo: string;
  repoDir: string;
}

export class GitWorktreeManager implements WorktreeManager {
  readonly #opts: WorktreeOptions;
  readonly #pools = new Map<string, string[]>();
  /** Trees between acquire and the end of release; sweep never touches these. */
  readonly #held = new Map<string, Held>();
  readonly #locks = new Map<string, Promise<unknown>>();
  #sweeping: Promise<number> | null = null;

  constructor(opts: WorktreeOptions) {
    this.#opts = opts;
  }

  /** The repo's real path; throws RepoNotAllowedError (see validate.ts for the rules). */
  repoPath(repo: string): Promise<string> {
    return resolveRepo(this.#opts.reposDir, this.#opts.allowlist, repo);
  }

  /** The names a job may use as `repo`, for a refusal that says what would be accepted. */
  repos(): Promise<string[]> {
    return availableRepos(this.#opts.reposDir, this.#opts.allowlist);
  }

  async acquire(repo: string, ref: string | undefined, jobId: string): Promise<Worktree> {
    checkJobId(jobId);
    if (ref !== undefined) checkRef(ref);
    const repoDir = await this.repoPath(repo);
    const rev = ref ?? "HEAD";
    let commit: string;
    try {
      commit = (await git(repoDir, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`])).trim();
    } catch (err) {
      throw new RefNotFoundError(repo, rev, { cause: err });
    }
    const branch = `vault/${jobId}`;

    const pooled = this.#pools.get(repo)?.pop();
    if (pooled !== undefined) {
      this.#held.set(pooled, { repo, repoDir });
      try {
        await clearSlotState(pooled);
        // Cleaned on release, so one checkout makes it this job's tree.
        await git(pooled, ["checkout", "-q", "-f", "-B", branch, commit]);
        return { repo, path: pooled, branch, baseCommit: commit };
      } catch (err) {
        // A tree that cannot be switched is dropped, never reused; the job gets a fresh one.
        log("warn", "worktree_pooled_checkout_failed", { repo, error: describe(err) });
        await this.#remove(repo, repoDir, pooled).catch((e: unknown) =>
          log("warn", "worktree_remove_failed", { dir: pooled, error: describe(e) }),
        );
        this.#held.delete(pooled);
      }
    }

    const dir = path.join(this.#opts.worktreesDir, repo, randomUUID());
    this.#held.set(dir, { repo, repoDir });
    try {
      await mkdir(path.dirname(dir), { recursive: true });
      // worktree add writes .git/worktrees/<name> in the shared repo: one at a time per repo.
      await this.#withRepoLock(repo, () => git(repoDir, ["worktree", "add", "-q", "-B", branch, dir, commit]));
    } catch (err) {
      this.#held.delete(dir);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return { repo, path: dir, branch, baseCommit: commit };
  }

  async collect(wt: Worktree, opts: { diffs?: boolean } = {}): Promise<WorktreeOutcome> {
    await removeStaleIndexLock(wt.path);
    // The CLI may have switched branch or detached HEAD: bring the job branch to where it is now,
    // keeping the index and files, so the result always lands on vault/<jobId>.
    const head = await gitStatus(wt.path, ["symbolic-ref", "-q", "HEAD"], { okCodes: [0, 1] });
    if (head.stdout.trim() !== `refs/heads/${wt.branch}`) await git(wt.path, ["checkout", "-q", "-B", wt.branch]);

    await git(wt.path, ["add", "-A"]);
    // Against the base commit, not HEAD: a CLI that committed its own work still gets it listed.
    const diffArgs = ["diff", "--cached", "--find-renames", "--no-ext-diff", "--no-textconv", "--no-color"];
    const entries = parseNumstatEntries(await git(wt.path, [...diffArgs, "--numstat", "-z", wt.baseCommit, "--"]));

    const staged = await gitStatus(wt.path, ["diff", "--cached", "--quiet"], { okCodes: [0, 1] });
    if (staged.exitCode === 1)
      await git(wt.path, [...AUTHOR, "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", `vault: ${wt.branch}`]);
    const tip = (await git(wt.path, ["rev-parse", "HEAD"])).trim();

    const diffs = opts.diffs && entries.length > 0 ? await this.#diffs(wt, diffArgs, entries) : {};
    return {
      files: entries.map(({ path: p, added, deleted }) => ({ path: p, added, deleted })),
      commit: tip === wt.baseCommit ? null : tip,
      diffs,
    };
  }

  /** One patch for all files, split in numstat's order; checked against each chunk's header. */
  async #diffs(wt: Worktree, diffArgs: string[], entries: NumstatEntry[]): Promise<Record<string, string>> {
    const patch = await gitStatus(wt.path, [...diffArgs, "--src-prefix=a/", "--dst-prefix=b/", wt.baseCommit, "--"], {
      maxOutputBytes: this.#opts.maxPatchBytes ?? 8 * 1024 * 1024,
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
      diffs[entry.path] = capDiff(chunk, this.#opts.maxDiffBytes ?? 64 * 1024);
    }
    return diffs;
  }

  async release(wt: Worktree, opts: { keep: boolean }): Promise<void> {
    const held = this.#held.get(wt.path);
    if (held === undefined || held.repo !== wt.repo) throw new UnknownWorktreeError(wt.path);
    try {
      if (opts.keep) {
        await writeSlotState(wt.path, {
          state: "kept",
          keepUntil: this.#now() + this.#opts.keepFailedMs,
          branch: wt.branch,
          reason: "failed",
        });
        return;
      }
      if (await this.#recycle(wt, held.repoDir)) return;
      await this.#remove(wt.repo, held.repoDir, wt.path);
      await this.#dropBranchWithoutCommit(held.repoDir, wt);
    } finally {
      this.#held.delete(wt.path);
    }
  }

  /** Cleans the tree and puts it in the pool; false when the pool is full or cleaning failed. */
  async #recycle(wt: Worktree, repoDir: string): Promise<boolean> {
    const pool = this.#pools.get(wt.repo) ?? [];
    this.#pools.set(wt.repo, pool);
    if (pool.length >= this.#opts.poolSize) return false;
    try {
      await removeStaleIndexLock(wt.path);
      // Detached, so the job branch is checked out nowhere and can be deleted or fetched freely.
      await git(wt.path, ["checkout", "-q", "-f", "--detach"]);
      // -ff: also nested repositories the agent created (a single -f skips them).
      await git(wt.path, ["clean", "-q", "-ffdx"]);
      await this.#dropBranchWithoutCommit(repoDir, wt);
      await writeSlotState(wt.path, { state: "idle" });
    } catch (err) {
      log("warn", "worktree_recycle_failed", { dir: wt.path, error: describe(err) });
      return false;
    }
    // Re-checked: another release may have filled the pool while this one was cleaning.
    if (pool.length >= this.#opts.poolSize) return false;
    pool.push(wt.path);
    return true;
  }

  /** Deletes vault/<jobId> only if it still points at the base commit (atomic compare-and-delete). */
  async #dropBranchWithoutCommit(repoDir: string, wt: Worktree): Promise<void> {
    await gitStatus(repoDir, ["update-ref", "-d", `refs/heads/${wt.branch}`, wt.baseCommit], { okCodes: [0, 1] });
  }

  /**
   * Removes kept trees whose time is up and returns how many. Trees from before a restart are
   * adopted: idle ones go back to the pool (or are removed when it is full), ones without a state
   * file (a job was running) are kept like failed ones.
   */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweep().finally(() => (this.#sweeping = null));
    return this.#sweeping;
  }

  async #sweep(): Promise<number> {
    let removed = 0;
    await this.#eachLooseTree(async ({ repo, repoDir, dir, state }) => {
      if (state === null) {
        const branch = await readBranch(dir);
        await writeSlotState(dir, {
          state: "kept",
          keepUntil: this.#now() + this.#opts.keepFailedMs,
          branch,
          reason: "orphaned",
        });
        log("info", "worktree_orphan_kept", { dir, branch });
      } else if (
        state.state === "idle" &&
        repoDir !== null &&
        (this.#pools.get(repo)?.length ?? 0) < this.#opts.poolSize
      ) {
        this.#pools.set(repo, [...(this.#pools.get(repo) ?? []), dir]);
      } else if (state.state === "idle" || state.keepUntil <= this.#now()) {
        await this.#discard(repo, repoDir, dir);
        if (state.state === "kept") removed += 1;
      }
    });
    return removed;
  }

  /**
   * At start-up, before any job runs: every tree without a state file belonged to a job that was
   * running when the previous process died (that job now reads `interrupted` and is never run
   * again), and the pool is in memory only, so idle trees are nobody's either. Both are removed,
   * with git's records of them; a failed job's kept tree stays until its time is up (sweep).
   * Returns how many trees went.
   */
  async reconcileAfterRestart(): Promise<number> {
    let removed = 0;
    await this.#eachLooseTree(async ({ repo, repoDir, dir, state }) => {
      if (state?.state === "kept") return;
      log("info", "worktree_reconciled", { dir, was: state === null ? "running" : "idle" });
      await this.#discard(repo, repoDir, dir);
      removed += 1;
    });
    return removed;
  }

  /**
   * Visits every tree on disk that no job holds and the pool does not have, with its state; drops
   * state files whose tree is gone, and git's records of trees deleted by hand.
   */
  async #eachLooseTree(
    visit: (t: { repo: string; repoDir: string | null; dir: string; state: SlotState | null }) => Promise<void>,
  ): Promise<void> {
    for (const repo of await readdir(this.#opts.worktreesDir).catch(() => [] as string[])) {
      const repoDir = await this.repoPath(repo).catch(() => null);
      const base = path.join(this.#opts.worktreesDir, repo);
      const names = await readdir(base).catch(() => [] as string[]);
      for (const name of names) {
        const dir = path.join(base, name);
        if (name.endsWith(STATE_SUFFIX) || name.endsWith(`${STATE_SUFFIX}.tmp`)) {
          const owner = name.slice(0, name.indexOf(STATE_SUFFIX));
          if (!names.includes(owner)) await rm(dir, { force: true });
          continue;
        }
        if (this.#held.has(dir) || this.#pools.get(repo)?.includes(dir)) continue;
        await visit({ repo, repoDir, dir, state: await readSlotState(dir) });
      }
      if (repoDir !== null) await this.#withRepoLock(repo, () => git(repoDir, ["worktree", "prune"]));
    }
  }

  /** Removes a tree; one of a repo no longer allowed is deleted as files (git cannot be asked). */
  async #discard(repo: string, repoDir: string | null, dir: string): Promise<void> {
    if (repoDir !== null) await this.#remove(repo, repoDir, dir);
    else await Promise.all([rm(dir, { recursive: true, force: true }), clearSlotState(dir)]);
  }

  async #remove(repo: string, repoDir: string, dir: string): Promise<void> {
    await this.#withRepoLock(repo, async () => {
      try {
        await git(repoDir, ["worktree", "remove", "--force", "--force", dir]);
      } catch (err) {
        if (!(err instanceof WorktreeError)) throw err;
        // Not a registered worktree any more (or half-created): delete the files, forget the record.
        await rm(dir, { recursive: true, force: true });
        await git(repoDir, ["worktree", "prune"]);
      }
    });
    await clearSlotState(dir);
  }

  /** Serializes changes to a repo's shared worktree metadata (.git/worktrees). */
  #withRepoLock<T>(repo: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(repo) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.#locks.set(
      repo,
      next.catch(() => undefined),
    );
    return next;
  }

  #now(): number {
    return this.#opts.now?.() ?? Date.now();
  }
}

/**
 * A CLI killed in the middle of a git command leaves `index.lock`, and every later git command in
 * the tree fails. runProcess returns only after the CLI's whole process group is gone, so by the
 * time we get here nobody can be holding the lock: it is stale.
 */
async function removeStaleIndexLock(dir: string): Promise<void> {
  const gitDir = await linkedGitDir(dir);
  if (gitDir !== null) await rm(path.join(gitDir, "index.lock"), { force: true });
}

/** A linked worktree's `.git` is a file `gitdir: <path>`; read it rather than spawning git. */
async function linkedGitDir(dir: string): Promise<string | null> {
  const text = await readFile(path.join(dir, ".git"), "utf8").catch(() => null);
  const m = text === null ? null : /^gitdir: (.+)$/m.exec(text);
  return m ? path.resolve(dir, (m[1] as string).trim()) : null;
}

/** The branch a leftover tree had checked out, for the log and the state file. */
async function readBranch(dir: string): Promise<string> {
  const gitDir = await linkedGitDir(dir);
  const head = gitDir === null ? null : await readFile(path.join(gitDir, "HEAD"), "utf8").catch(() => null);
  const m = head === null ? null : /^ref: refs\/heads\/(.+)$/m.exec(head);
  return m ? (m[1] as string).trim() : "";
}

function describe(err: unknown): string {
  return err instanceof WorktreeError
    ? `${err.message} ${err.detail}`.trim()
    : err instanceof Error
      ? err.message
      : String(err);
}
