/**
 * One git worktree per job, on its own branch `vault/<jobId>`, of an allowlisted repo. Creating a
 * worktree checks out every file; on a large repo that dominates job start-up, so finished
 * worktrees are reset and cleaned (`reset --hard` + `clean -fdx`) and go back to a small per-repo
 * pool, and the next job only runs `checkout -B`, which touches just the files that differ.
 * Successful worktrees are recycled (or removed when the pool is full); failed ones are kept for
 * `keepFailedMs` so a human can look, then `sweep()` removes them. Branches are kept: they hold
 * the job's commit.
 */
import { randomUUID } from "node:crypto";
import { lstat, mkdir, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ChangedFile } from "@vault-mcp/contract";
import { GitRef, RepoName } from "@vault-mcp/contract";
import type { Worktree, WorktreeManager, WorktreeOutcome } from "../interfaces.ts";
import { git, GitError } from "./git.ts";

export class RepoNotAllowedError extends Error {
  override readonly name = "RepoNotAllowedError";
  readonly code = "repo_not_allowed";
}
export class RefNotFoundError extends Error {
  override readonly name = "RefNotFoundError";
  readonly code = "ref_not_found";
}

export interface WorktreeOptions {
  reposDir: string;
  worktreesDir: string;
  /** Repo names jobs may use; empty = every git repo directly inside reposDir. */
  allowlist: readonly string[];
  keepFailedMs: number;
  poolSize: number;
  maxDiffBytes?: number;
  now?: () => number;
}

const KEEP_MARKER = ".vault-keep-until";

export class GitWorktreeManager implements WorktreeManager {
  private readonly pools = new Map<string, string[]>();
  private readonly locks = new Map<string, Promise<unknown>>();

  private readonly opts: WorktreeOptions;

  constructor(opts: WorktreeOptions) {
    this.opts = opts;
  }

  /** Serializes git metadata changes per repo (worktree add/remove share .git/worktrees). */
  private withRepoLock<T>(repo: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(repo) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.locks.set(repo, next.catch(() => undefined));
    return next;
  }

  /** The repo's real path, refusing names outside the allowlist or paths that escape reposDir. */
  async repoPath(repo: string): Promise<string> {
    if (!RepoName.safeParse(repo).success) throw new RepoNotAllowedError(`repo '${repo}' is not a valid repo name`);
    if (this.opts.allowlist.length > 0 && !this.opts.allowlist.includes(repo)) throw new RepoNotAllowedError(`repo '${repo}' is not in the allowlist`);
    const root = await realpath(this.opts.reposDir);
    const candidate = path.join(root, repo);
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      throw new RepoNotAllowedError(`repo '${repo}' does not exist on this executor`);
    }
    if (path.dirname(real) !== root) throw new RepoNotAllowedError(`repo '${repo}' resolves outside the repos directory`);
    try {
      await lstat(path.join(real, ".git"));
    } catch {
      throw new RepoNotAllowedError(`repo '${repo}' is not a git repository`);
    }
    return real;
  }

  async acquire(repo: string, ref: string | undefined, jobId: string): Promise<Worktree> {
    if (ref !== undefined && !GitRef.safeParse(ref).success) throw new RefNotFoundError(`ref '${ref}' is not a valid git ref`);
    const repoDir = await this.repoPath(repo);
    let commit: string;
    try {
      commit = (await git(repoDir, ["rev-parse", "--verify", "--end-of-options", `${ref ?? "HEAD"}^{commit}`])).trim();
    } catch (err) {
      throw new RefNotFoundError(`ref '${ref ?? "HEAD"}' does not exist in '${repo}'`, { cause: err });
    }
    const branch = `vault/${jobId}`;
    const pooled = this.pools.get(repo)?.pop();
    if (pooled) {
      try {
        // Cleaned when it was released: one checkout makes it this job's tree.
        await git(pooled, ["checkout", "-q", "-f", "-B", branch, commit]);
        return { repo, path: pooled, branch, baseCommit: commit };
      } catch {
        await this.remove(repoDir, pooled); // a broken pooled tree is dropped, never reused
      }
    }
    await mkdir(path.join(this.opts.worktreesDir, repo), { recursive: true });
    const dir = path.join(this.opts.worktreesDir, repo, randomUUID());
    await this.withRepoLock(repo, () => git(repoDir, ["worktree", "add", "-q", "-B", branch, dir, commit]));
    return { repo, path: dir, branch, baseCommit: commit };
  }

  async collect(wt: Worktree, opts: { diffs?: boolean } = {}): Promise<WorktreeOutcome> {
    await git(wt.path, ["add", "-A"]);
    const numstat = await git(wt.path, ["diff", "--cached", "--numstat", "-z", "--no-renames"]);
    const files = parseNumstat(numstat);
    const diffs: Record<string, string> = {};
    const cap = this.opts.maxDiffBytes ?? 64 * 1024;
    for (const f of opts.diffs ? files.slice(0, 50) : []) {
      const d = await git(wt.path, ["diff", "--cached", "--no-renames", "--", f.path]);
      diffs[f.path] = d.length > cap ? d.slice(0, cap) : d;
    }
    let commit: string | null = null;
    if (files.length > 0) {
      await git(wt.path, ["-c", "user.name=vault-executor", "-c", "user.email=vault-executor@localhost", "commit", "-q", "--no-verify", "-m", `vault: ${wt.branch}`]);
      commit = (await git(wt.path, ["rev-parse", "HEAD"])).trim();
    }
    return { files, commit, diffs };
  }

  async release(wt: Worktree, opts: { keep: boolean }): Promise<void> {
    const repoDir = await this.repoPath(wt.repo);
    if (opts.keep) {
      await writeFile(path.join(wt.path, KEEP_MARKER), String(this.now() + this.opts.keepFailedMs));
      return;
    }
    const pool = this.pools.get(wt.repo) ?? [];
    if (pool.length < this.opts.poolSize) {
      try {
        // Untracked and ignored files go now, so the next job only needs a checkout. The job's
        // branch keeps its commit: the next `checkout -B` moves this tree to a new branch.
        await git(wt.path, ["reset", "-q", "--hard"]);
        await git(wt.path, ["clean", "-fdxq"]);
        pool.push(wt.path);
        this.pools.set(wt.repo, pool);
        return;
      } catch {
        // fall through to removal
      }
    }
    await this.remove(repoDir, wt.path);
  }

  /** Removes kept worktrees whose inspection window has passed. */
  async sweep(): Promise<number> {
    let removed = 0;
    for (const repo of await readdir(this.opts.worktreesDir).catch(() => [] as string[])) {
      const repoDir = await this.repoPath(repo).catch(() => null);
      for (const name of await readdir(path.join(this.opts.worktreesDir, repo)).catch(() => [] as string[])) {
        const dir = path.join(this.opts.worktreesDir, repo, name);
        const until = Number(await readFile(path.join(dir, KEEP_MARKER), "utf8").catch(() => "NaN"));
        if (Number.isFinite(until) && until <= this.now()) {
          if (repoDir) await this.remove(repoDir, dir);
          else await rm(dir, { recursive: true, force: true });
          removed += 1;
        }
      }
    }
    return removed;
  }

  private async remove(repoDir: string, dir: string): Promise<void> {
    await this.withRepoLock(path.basename(repoDir), async () => {
      await git(repoDir, ["worktree", "remove", "--force", dir]).catch(async (err: unknown) => {
        if (!(err instanceof GitError)) throw err;
        await rm(dir, { recursive: true, force: true });
        await git(repoDir, ["worktree", "prune"]);
      });
    });
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }
}

/** `git diff --numstat -z`: `added\tdeleted\tpath\0`; binary files show `-`. */
export function parseNumstat(out: string): ChangedFile[] {
  return out
    .split("\0")
    .filter(Boolean)
    .map((entry) => {
      const [a, d, ...rest] = entry.split("\t");
      return { path: rest.join("\t"), added: a === "-" ? null : Number(a), deleted: d === "-" ? null : Number(d) };
    });
}
