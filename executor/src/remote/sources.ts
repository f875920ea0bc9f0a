/**
 * Repos registered by URL (a job's `source`): the executor clones `url` into REPOS_DIR/<repo> the
 * first time, as its own user (never an agent), and fetches the default branch before every job; the
 * job's worktree starts from the fetched commit. A clone carries a marker, `.git/vault-source.json`
 * (url, branch, commit, fetchedAt of the last successful fetch), which also tells it apart from a
 * repo placed by hand: such a repo is never adopted, fetched or rewritten.
 *
 * A failed fetch is not a failed job: it runs on the last fetched commit, and the base says how old
 * that is and why the fetch failed. A failed first clone is: there is nothing to run on.
 */
import { randomUUID } from "node:crypto";
import { lstat, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { type JobBase, type JobRequest, RepoName, type RepoSource } from "@vault-mcp/contract";
import { isMissing, readIfExists } from "../fs-missing.ts";
import { log } from "../log.ts";
import { git } from "../worktree/git.ts";
import { RemoteGitError, remoteGit } from "./remote-git.ts";

export const SOURCE_MARKER = "vault-source.json";

interface Marker {
  url: string;
  defaultBranch: string;
  commit: string;
  fetchedAt: string;
}

export interface SourceOptions {
  reposDir: string;
  credentialsFile: string | undefined;
  fetchTimeoutMs: number;
  cloneTimeoutMs: number;
  now?: () => Date;
}

/** A source the executor cannot use: a name taken by a repo placed by hand, or a clone that failed. */
export class SourceError extends Error {
  override readonly name = "SourceError";
  readonly code: "repo_not_allowed" | "clone_failed";
  constructor(code: "repo_not_allowed" | "clone_failed", message: string) {
    super(message);
    this.code = code;
  }
}

/** Whether REPOS_DIR/<repo> is a clone the executor made (its marker is there). */
export async function isClone(repoDir: string): Promise<boolean> {
  return (await readMarker(repoDir)) !== null;
}

/** The clone's marker; null when there is none (a repo placed by hand) or it is not one we wrote. */
async function readMarker(repoDir: string): Promise<Marker | null> {
  const raw = await readIfExists(path.join(repoDir, ".git", SOURCE_MARKER));
  if (raw === null) return null;
  let m: Partial<Marker>;
  try {
    m = JSON.parse(raw.toString("utf8")) as Partial<Marker>;
  } catch {
    // Ours are written whole (renamed into place): anything else there was not written by the executor.
    return null;
  }
  if (typeof m.url === "string" && typeof m.commit === "string" && typeof m.fetchedAt === "string")
    return { url: m.url, defaultBranch: String(m.defaultBranch ?? ""), commit: m.commit, fetchedAt: m.fetchedAt };
  return null;
}

async function writeMarker(repoDir: string, m: Marker): Promise<void> {
  const file = path.join(repoDir, ".git", SOURCE_MARKER);
  await writeFile(`${file}.tmp`, `${JSON.stringify(m)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    (err: unknown) => {
      if (isMissing(err)) return false;
      throw err;
    },
  );

export class RepoSources {
  readonly #o: SourceOptions;
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(o: SourceOptions) {
    this.#o = o;
  }

  /**
   * At submit, before the job is accepted: the name is free (the first job clones it) or holds a
   * clone of ours. A repo placed by hand under that name is refused (never adopted).
   */
  async check(repo: string): Promise<void> {
    if (!RepoName.safeParse(repo).success) throw new SourceError("repo_not_allowed", `repo '${repo}' is not allowed`);
    const dir = path.join(this.#o.reposDir, repo);
    if (!(await exists(dir))) return;
    if (!(await isClone(dir)))
      throw new SourceError(
        "repo_not_allowed",
        `repo '${repo}' on this executor was placed by hand, not cloned from a URL; register the URL under another name, or remove ${repo} from the executor's repos dir`,
      );
  }

  /** Clones or fetches, then answers the base the job starts from (its ref, commit and freshness). */
  prepare(repo: string, source: RepoSource): Promise<JobBase> {
    return this.#withLock(repo, () => this.#prepare(repo, source));
  }

  async #prepare(repo: string, source: RepoSource): Promise<JobBase> {
    await this.check(repo);
    const dir = path.join(this.#o.reposDir, repo);
    const now = () => (this.#o.now?.() ?? new Date()).toISOString();
    if (!(await exists(dir))) {
      const { commit, fetchedAt } = await this.#clone(dir, source);
      return { ref: source.defaultBranch, commit, fetchedAt, fresh: true };
    }
    const last = await readMarker(dir);
    if (last && last.url !== source.url) log("info", "repo_source_changed", { repo });
    try {
      const commit = await this.#fetch(dir, source);
      const fetchedAt = now();
      await writeMarker(dir, { url: source.url, defaultBranch: source.defaultBranch, commit, fetchedAt });
      return { ref: source.defaultBranch, commit, fetchedAt, fresh: true };
    } catch (err) {
      if (!(err instanceof RemoteGitError)) throw err;
      const why = `fetch of ${source.defaultBranch} from ${source.url} failed (${err.kind}): ${err.message}`;
      log("warn", "repo_fetch_failed", { repo, kind: err.kind, error: err.message });
      // Only the last commit of this very source will do: another URL's or branch's is not "older".
      if (!last || last.url !== source.url || last.defaultBranch !== source.defaultBranch)
        throw new SourceError("clone_failed", `${why}; the executor has no earlier fetch of it to run on`);
      return {
        ref: source.defaultBranch,
        commit: last.commit,
        fetchedAt: last.fetchedAt,
        fresh: false,
        fetchError: why,
      };
    }
  }

  /** Into a hidden directory first (not a valid repo name), renamed into place once complete. */
  async #clone(dir: string, source: RepoSource): Promise<{ commit: string; fetchedAt: string }> {
    const tmp = path.join(this.#o.reposDir, `.clone-${randomUUID()}`);
    try {
      await remoteGit(
        this.#o.reposDir,
        [
          "clone",
          "--quiet",
          "--no-checkout",
          "--single-branch",
          "--no-tags",
          "--branch",
          source.defaultBranch,
          "--",
          source.url,
          tmp,
        ],
        { credentialsFile: this.#o.credentialsFile, timeoutMs: this.#o.cloneTimeoutMs },
      );
      const commit = await this.#tip(tmp, source.defaultBranch);
      const fetchedAt = (this.#o.now?.() ?? new Date()).toISOString();
      await writeMarker(tmp, { url: source.url, defaultBranch: source.defaultBranch, commit, fetchedAt });
      await rename(tmp, dir);
      log("info", "repo_cloned", { repo: path.basename(dir), commit });
      return { commit, fetchedAt };
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      if (err instanceof RemoteGitError)
        throw new SourceError("clone_failed", `could not clone ${source.url} (${err.kind}): ${err.message}`);
      throw err;
    }
  }

  async #fetch(dir: string, source: RepoSource): Promise<string> {
    const b = source.defaultBranch;
    await remoteGit(
      dir,
      [
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--",
        source.url,
        `+refs/heads/${b}:refs/remotes/origin/${b}`,
      ],
      { credentialsFile: this.#o.credentialsFile, timeoutMs: this.#o.fetchTimeoutMs },
    );
    return this.#tip(dir, b);
  }

  async #tip(dir: string, branch: string): Promise<string> {
    try {
      return (await git(dir, ["rev-parse", "--verify", "--quiet", `refs/remotes/origin/${branch}^{commit}`])).trim();
    } catch {
      // rev-parse --verify --quiet fails only when the ref is absent: the fetch brought no such branch.
      throw new RemoteGitError("other", `the remote has no branch '${branch}'`, "");
    }
  }

  /** One clone or fetch per repo at a time; jobs of other repos are not held up. */
  #withLock<T>(repo: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(repo) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.#locks.set(repo, settled);
    void settled.then(() => {
      if (this.#locks.get(repo) === settled) this.#locks.delete(repo);
    });
    return next;
  }
}

/**
 * A job's base before its sides run: its repo cloned or fetched when the job has a `source` (null
 * without one); a clone that failed is the job's setup error, said in `error`.
 */
export async function jobSource(
  sources: RepoSources | undefined,
  jobId: string,
  req: JobRequest,
): Promise<{ base: JobBase | null } | { error: string }> {
  if (!req.source) return { base: null };
  if (!sources) return { error: "this executor cannot clone repos registered by URL" };
  try {
    return { base: await sources.prepare(req.repo, req.source) };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log("warn", "job_source_failed", { jobId, repo: req.repo, error });
    return { error };
  }
}
