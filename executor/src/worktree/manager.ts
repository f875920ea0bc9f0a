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
 *
 * Sandbox (slot given): a tree belongs to one agent identity's slot, its files to the executor with
 * the slot's group (git runs with that gid), and it goes back to that slot's pool; see
 * slot-access.ts for who may enter it when. Every git command on a tree names the tree's git
 * directory in the source repo (treeArgs), which agents cannot write.
 */
import { randomUUID } from "node:crypto";
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import { isMissing, listDir, readIfExists } from "../fs-missing.ts";
import type { Worktree, WorktreeManager, WorktreeOutcome, WorktreeSlot } from "../interfaces.ts";
import { log } from "../log.ts";
import { collectTree, type DiffLimits } from "./collect.ts";
import { RefNotFoundError, UnknownWorktreeError, WorktreeError } from "./errors.ts";
import { type GitOptions, git, gitStatus, treeGit } from "./git.ts";
import { commonDirOf, readHeadCommit } from "./refs.ts";
import { createTreeDir, lockTree, openTree, restoreGitFile } from "./slot-access.ts";
import { clearSlotState, readSlotState, type SlotState, STATE_SUFFIX, writeSlotState } from "./slot-state.ts";
import { availableRepos, checkJobId, checkRef, resolveRepo } from "./validate.ts";

export {
  InvalidJobIdError,
  InvalidRefError,
  RefNotFoundError,
  RepoNotAllowedError,
  UnknownWorktreeError,
} from "./errors.ts";

export interface WorktreeOptions extends DiffLimits {
  reposDir: string;
  worktreesDir: string;
  /** Repo names jobs may use; empty = every git repo directly inside reposDir. */
  allowlist: readonly string[];
  /** How long a failed job's tree is kept for inspection. */
  keepFailedMs: number;
  /** Cleaned trees kept per repo for reuse; 0 disables the pool. */
  poolSize: number;
  /** The sandbox's slots, so sweep can give a tree found on disk back to its slot (by its group). */
  slots?: readonly WorktreeSlot[];
  now?: () => number;
}

interface Held {
  repo: string;
  repoDir: string;
}

interface Pooled {
  path: string;
  gitDir: string;
}

const poolKey = (repo: string, slot: WorktreeSlot | undefined) => `${slot?.key ?? ""}\u0000${repo}`;

export class GitWorktreeManager implements WorktreeManager {
  readonly #opts: WorktreeOptions;
  /** Cleaned trees per (slot, repo). */
  readonly #pools = new Map<string, Pooled[]>();
  /** Each repo's common git directory (where `worktrees/<name>` live). */
  readonly #commonDirs = new Map<string, Promise<string>>();
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

  async acquire(repo: string, ref: string | undefined, jobId: string, slot?: WorktreeSlot): Promise<Worktree> {
    checkJobId(jobId);
    if (ref !== undefined) checkRef(ref);
    const repoDir = await this.repoPath(repo);
    const rev = ref ?? "HEAD";
    const pooled = this.#pools.get(poolKey(repo, slot))?.pop();
    // The repository's HEAD, from its files when they say it plainly (refs.ts: one git process less
    // on the job's path); a named ref is always resolved (and checked) by git.
    let commit = ref === undefined && pooled !== undefined ? await readHeadCommit(commonDirOf(pooled.gitDir)) : null;
    try {
      commit ??= (
        await git(repoDir, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`])
      ).trim();
    } catch (err) {
      if (pooled !== undefined) this.#pools.get(poolKey(repo, slot))?.push(pooled);
      throw new RefNotFoundError(repo, rev, { cause: err });
    }
    const branch = `vault/${jobId}`;
    const asSlot: GitOptions = slot ? { gid: slot.gid } : {};

    if (pooled !== undefined) {
      const wt: Worktree = { repo, path: pooled.path, branch, baseCommit: commit, gitDir: pooled.gitDir, slot };
      this.#held.set(pooled.path, { repo, repoDir });
      try {
        await clearSlotState(pooled.path);
        // Cleaned on release, so one checkout makes it this job's tree.
        await treeGit(wt, ["checkout", "-q", "-f", "-B", branch, commit], asSlot);
        if (slot) await openTree(pooled.path, slot);
        return wt;
      } catch (err) {
        // A tree that cannot be switched is dropped, never reused; the job gets a fresh one.
        log("warn", "worktree_pooled_checkout_failed", { repo, error: describe(err) });
        await this.#remove(repo, repoDir, pooled.path, slot).catch((e: unknown) =>
          log("warn", "worktree_remove_failed", { dir: pooled.path, error: describe(e) }),
        );
        this.#held.delete(pooled.path);
      }
    }

    const dir = path.join(this.#opts.worktreesDir, repo, randomUUID());
    this.#held.set(dir, { repo, repoDir });
    try {
      await createTreeDir(dir, slot);
      // worktree add writes .git/worktrees/<name> in the shared repo: one at a time per repo.
      await this.#withRepoLock(repo, () => git(repoDir, ["worktree", "add", "-q", "-B", branch, dir, commit], asSlot));
    } catch (err) {
      this.#held.delete(dir);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return { repo, path: dir, branch, baseCommit: commit, gitDir: await this.#treeGitDir(repoDir, dir), slot };
  }

  /** `<common dir>/worktrees/<basename>`: git names a tree's directory after the tree's (unique) basename. */
  async #treeGitDir(repoDir: string, dir: string): Promise<string> {
    let common = this.#commonDirs.get(repoDir);
    if (common === undefined) {
      common = git(repoDir, ["rev-parse", "--path-format=absolute", "--git-common-dir"]).then((s) => s.trim());
      this.#commonDirs.set(repoDir, common);
      // The caller below gets the rejection; this only keeps a failed lookup out of the cache.
      common.catch(() => this.#commonDirs.delete(repoDir));
    }
    return path.join(await common, "worktrees", path.basename(dir));
  }

  async collect(wt: Worktree, opts: { diffs?: boolean } = {}): Promise<WorktreeOutcome> {
    try {
      return await collectTree(wt, opts, this.#opts);
    } catch (err) {
      // An agent that took the group's read right from its files: given back (as the identity), once.
      if (!wt.slot || !(err instanceof WorktreeError) || !/permission denied/i.test(err.detail)) throw err;
      await wt.slot.fixPermissions(wt.path);
      return collectTree(wt, opts, this.#opts);
    }
  }

  async release(wt: Worktree, opts: { keep: boolean }): Promise<void> {
    const held = this.#held.get(wt.path);
    if (held === undefined || held.repo !== wt.repo) throw new UnknownWorktreeError(wt.path);
    try {
      if (opts.keep) {
        if (wt.slot) await lockTree(wt.path);
        await writeSlotState(wt.path, {
          state: "kept",
          keepUntil: this.#now() + this.#opts.keepFailedMs,
          branch: wt.branch,
          reason: "failed",
        });
        return;
      }
      if (await this.#recycle(wt, held.repoDir)) return;
      if (wt.slot) await lockTree(wt.path);
      await this.#remove(wt.repo, held.repoDir, wt.path, wt.slot);
      await this.#dropBranchWithoutCommit(held.repoDir, wt);
    } finally {
      this.#held.delete(wt.path);
    }
  }

  /** Cleans the tree and puts it in its slot's pool; false when the pool is full or cleaning failed. */
  async #recycle(wt: Worktree, repoDir: string): Promise<boolean> {
    const key = poolKey(wt.repo, wt.slot);
    const pool = this.#pools.get(key) ?? [];
    this.#pools.set(key, pool);
    if (pool.length >= this.#opts.poolSize) return false;
    try {
      if (wt.slot) await lockTree(wt.path);
      await rm(path.join(wt.gitDir, "index.lock"), { force: true });
      await restoreGitFile(wt.path, wt.gitDir);
      // Detached, so the job branch is checked out nowhere and can be deleted or fetched freely.
      await treeGit(wt, ["checkout", "-q", "-f", "--detach"], wt.slot ? { gid: wt.slot.gid } : {});
      await this.#clean(wt);
      await this.#dropBranchWithoutCommit(repoDir, wt);
      await writeSlotState(wt.path, { state: "idle" });
    } catch (err) {
      log("warn", "worktree_recycle_failed", { dir: wt.path, error: describe(err) });
      return false;
    }
    // Re-checked: another release may have filled the pool while this one was cleaning.
    if (pool.length >= this.#opts.poolSize) return false;
    pool.push({ path: wt.path, gitDir: wt.gitDir });
    return true;
  }

  /**
   * clean -ffdx (-ff: also nested repositories the agent created). git says nothing and exits 0 when
   * it cannot remove what an agent made unwritable to the group; so the tree is checked to be clean,
   * and if not, the identity gives the rights back and it is cleaned again.
   */
  async #clean(wt: Worktree): Promise<void> {
    const clean = () => treeGit(wt, ["clean", "-q", "-ffdx"]);
    const leftovers = async () =>
      (await treeGit(wt, ["status", "--porcelain", "--ignored", "--untracked-files=all"])).stdout.trim();
    await clean();
    if (!wt.slot || (await leftovers()) === "") return;
    await this.#giveBack(wt.path, wt.slot);
    await clean();
    const left = await leftovers();
    if (left !== "") throw new WorktreeError("git_failed", "the tree could not be cleaned", left.slice(0, 500));
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
    await this.#eachLooseTree(async ({ repo, repoDir, dir, state, slot }) => {
      const sandboxed = (this.#opts.slots?.length ?? 0) > 0;
      // A tree's slot is its group; with the sandbox on, a tree of no slot (made with it off) cannot be reused.
      const poolable = repoDir !== null && (!sandboxed || slot !== undefined);
      if (state === null) {
        // A run was in it when the previous process died: locked (it may still be open to its slot).
        if (sandboxed)
          await lockTree(dir).catch((err: unknown) =>
            // Still kept, never reused: its slot may reach it until the sweep removes it.
            log("warn", "worktree_lock_failed", { dir, error: describe(err) }),
          );
        const branch = repoDir === null ? "" : await readBranch(await this.#treeGitDir(repoDir, dir));
        await writeSlotState(dir, {
          state: "kept",
          keepUntil: this.#now() + this.#opts.keepFailedMs,
          branch,
          reason: "orphaned",
        });
        log("info", "worktree_orphan_kept", { dir, branch });
      } else if (
        state.state === "idle" &&
        poolable &&
        (this.#pools.get(poolKey(repo, slot))?.length ?? 0) < this.#opts.poolSize
      ) {
        const key = poolKey(repo, slot);
        const gitDir = await this.#treeGitDir(repoDir, dir);
        this.#pools.set(key, [...(this.#pools.get(key) ?? []), { path: dir, gitDir }]);
      } else if (state.state === "idle" || state.keepUntil <= this.#now()) {
        // No slot here: a run of that identity may be going on, so its rights are never given back
        // from here; a tree an agent made unremovable stays, locked, and is logged.
        if (repoDir !== null) await this.#remove(repo, repoDir, dir, undefined);
        else await Promise.all([rm(dir, { recursive: true, force: true }), clearSlotState(dir)]);
        if (state.state === "kept") removed += 1;
      }
    });
    return removed;
  }

  /**
   * At start-up, before any job runs: a tree without a state file belonged to a job that was
   * running when the previous process died (that job now reads `interrupted` and is never run
   * again), and the pool lives in memory only, so idle trees are nobody's either. Both are removed,
   * with git's records of them (what an agent locked is given back by its slot first: no run of it
   * is going on yet); a failed job's kept tree stays until its time is up (sweep). Returns how many.
   */
  async reconcileAfterRestart(): Promise<number> {
    let removed = 0;
    await this.#eachLooseTree(async ({ repo, repoDir, dir, state, slot }) => {
      if (state?.state === "kept") return;
      log("info", "worktree_reconciled", { dir, was: state === null ? "running" : "idle" });
      if (repoDir !== null) await this.#remove(repo, repoDir, dir, slot);
      else await Promise.all([rm(dir, { recursive: true, force: true }), clearSlotState(dir)]);
      removed += 1;
    });
    return removed;
  }

  /**
   * Visits every tree on disk that no job holds and no pool has, with its state and its slot (its
   * group); drops state files whose tree is gone, and git's records of trees deleted by hand.
   */
  async #eachLooseTree(
    visit: (t: {
      repo: string;
      repoDir: string | null;
      dir: string;
      state: SlotState | null;
      slot: WorktreeSlot | undefined;
    }) => Promise<void>,
  ): Promise<void> {
    for (const repo of await listDir(this.#opts.worktreesDir)) {
      // A repo no longer allowed (or gone): its trees are still visited, as trees of no repo.
      const repoDir = await this.repoPath(repo).catch(() => null);
      const base = path.join(this.#opts.worktreesDir, repo);
      const names = await listDir(base);
      for (const name of names) {
        const dir = path.join(base, name);
        if (name.endsWith(STATE_SUFFIX) || name.endsWith(`${STATE_SUFFIX}.tmp`)) {
          const owner = name.slice(0, name.indexOf(STATE_SUFFIX));
          if (!names.includes(owner)) await rm(dir, { force: true });
          continue;
        }
        if (this.#held.has(dir) || this.#isPooled(dir)) continue;
        const gid = await stat(dir).then(
          (st) => st.gid,
          (err: unknown) => {
            if (isMissing(err)) return null; // removed since the listing
            throw err;
          },
        );
        const slot = this.#opts.slots?.find((s) => s.gid === gid);
        await visit({ repo, repoDir, dir, state: await readSlotState(dir), slot });
      }
      if (repoDir !== null) await this.#withRepoLock(repo, () => git(repoDir, ["worktree", "prune"]));
    }
  }

  #isPooled(dir: string): boolean {
    for (const pool of this.#pools.values()) if (pool.some((p) => p.path === dir)) return true;
    return false;
  }

  /** Removes a tree; with its slot (held under the run's lease), what the agent locked is given back first. */
  async #remove(repo: string, repoDir: string, dir: string, slot: WorktreeSlot | undefined): Promise<void> {
    await this.#withRepoLock(repo, async () => {
      try {
        await git(repoDir, ["worktree", "remove", "--force", "--force", dir]);
      } catch (err) {
        if (!(err instanceof WorktreeError)) throw err;
        // Not a registered worktree any more, half-created, or holding what the executor may not
        // delete: delete the files, forget the record.
        await rm(dir, { recursive: true, force: true }).catch(async (e: unknown) => {
          if (!slot) throw e;
          await this.#giveBack(dir, slot);
          await rm(dir, { recursive: true, force: true });
        });
        await git(repoDir, ["worktree", "prune"]);
      }
    });
    await clearSlotState(dir);
  }

  /** As the slot's identity, gives the executor rights back on what its agent made private. */
  async #giveBack(dir: string, slot: WorktreeSlot): Promise<void> {
    await openTree(dir, slot);
    try {
      await slot.fixPermissions(dir);
    } finally {
      // The removal that follows deletes it anyway; a failure here is logged, the first one rethrown.
      await lockTree(dir).catch((err: unknown) => log("warn", "worktree_lock_failed", { dir, error: describe(err) }));
    }
  }

  /** Serializes changes to a repo's shared worktree metadata (.git/worktrees). */
  #withRepoLock<T>(repo: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(repo) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    // The chain must go on after a failure; the failure itself reaches this call's caller.
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

/** The branch a tree had checked out (its HEAD in its git directory), for the log and the state file. */
async function readBranch(gitDir: string): Promise<string> {
  const head = (await readIfExists(path.join(gitDir, "HEAD")))?.toString("utf8") ?? null;
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
