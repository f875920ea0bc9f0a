/**
 * Checks on everything a job names (repo, ref, job id) before any file or process is touched:
 * a refused request creates nothing.
 */
import { lstat, realpath } from "node:fs/promises";
import path from "node:path";
import { GitRef, RepoName } from "@vault-mcp/contract";
import { listDir } from "../fs-missing.ts";
import { isClone } from "../remote/sources.ts";
import { InvalidJobIdError, InvalidRefError, RepoNotAllowedError } from "./errors.ts";

/**
 * The repo's real directory. The name must pass the contract's RepoName, be on the allowlist (an
 * empty allowlist admits every repository directly inside reposDir) or be a clone the executor made
 * from a registered URL (remote/sources.ts: the Worker's registry is its allowlist), and resolve,
 * after symlinks, to a direct child of reposDir that holds a `.git`.
 */
export async function resolveRepo(reposDir: string, allowlist: readonly string[], repo: string): Promise<string> {
  if (!RepoName.safeParse(repo).success) throw new RepoNotAllowedError(repo, "not a valid repo name");
  if (allowlist.length > 0 && !allowlist.includes(repo) && !(await isClone(path.join(reposDir, repo))))
    throw new RepoNotAllowedError(repo, "not in REPO_ALLOWLIST");
  let root: string;
  let real: string;
  try {
    root = await realpath(reposDir);
    real = await realpath(path.join(root, repo));
  } catch (err) {
    throw new RepoNotAllowedError(repo, `cannot resolve under ${reposDir}: ${String(err)}`);
  }
  // A symlink is fine while it stays inside; one pointing elsewhere is refused.
  if (path.dirname(real) !== root) throw new RepoNotAllowedError(repo, `resolves to ${real}, outside ${root}`);
  try {
    await lstat(path.join(real, ".git"));
  } catch (err) {
    throw new RepoNotAllowedError(repo, `${real} is not a git repository: ${String(err)}`);
  }
  return real;
}

/** The repos a job may name: those of the allowlist (or, without one, of reposDir) and the clones that resolve. */
export async function availableRepos(reposDir: string, allowlist: readonly string[]): Promise<string[]> {
  const all = await listDir(reposDir);
  const names = allowlist.length > 0 ? [...new Set([...allowlist, ...all])] : all;
  const ok = await Promise.all(
    names.map((n) =>
      resolveRepo(reposDir, allowlist, n).then(
        () => n,
        // Refused (RepoNotAllowedError, which carries why): not one a job may name.
        () => null,
      ),
    ),
  );
  return ok.filter((n): n is string => n !== null).sort();
}

export function checkRef(ref: string): void {
  if (!GitRef.safeParse(ref).success) throw new InvalidRefError(ref);
}

/**
 * The job id becomes the branch `vault/<jobId>`: one ref component git accepts (check-ref-format)
 * and no option-looking value.
 */
export function checkJobId(jobId: string): void {
  const ok =
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(jobId) &&
    !jobId.includes("..") &&
    !jobId.endsWith(".lock") &&
    !jobId.endsWith(".");
  if (!ok) throw new InvalidJobIdError(jobId);
}
