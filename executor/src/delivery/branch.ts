/**
 * Pushing and deleting `vault/<taskId>` on a job's remote, never a branch the executor did not
 * create. Every push the executor makes is recorded in its clone as `refs/vault/delivered/<branch>`
 * (the commit it pushed). A push is a compare-and-swap on the remote (`--force-with-lease`): the
 * remote branch must still be what the record says, or absent when there is no record. So a branch
 * someone else made, or one a reviewer pushed commits onto, is never overwritten or deleted.
 *
 * The commit about to be pushed is noted first (`refs/vault/delivering/<branch>`): if the executor
 * stops after the remote took the push but before the record was written, the next push still
 * recognises that tip as its own.
 */

import { RemoteGitError, type RemoteGitOptions, remoteBranchCommit, remoteGit } from "../remote/remote-git.ts";
import { git, gitStatus } from "../worktree/git.ts";
import { DeliveryError, fromRemote } from "./errors.ts";

const recordRef = (branch: string) => `refs/vault/delivered/${branch}`;
const pendingRef = (branch: string) => `refs/vault/delivering/${branch}`;

async function recorded(repoDir: string, ref: string): Promise<string | null> {
  const r = await gitStatus(repoDir, ["rev-parse", "--verify", "--quiet", ref], { okCodes: [0, 1] });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

const notOurs = (branch: string) =>
  new DeliveryError(
    "delivery_refused",
    `the remote's branch ${branch} holds commits this executor did not push (another branch of that name, or commits added to it); it is left alone: delete or rename it on the remote if it is not needed, then deliver again`,
  );

export interface RemoteTarget extends RemoteGitOptions {
  repoDir: string;
  url: string;
}

/** Pushes `commit` to `refs/heads/<branch>`; pushing the same commit again is a no-op. */
export async function pushBranch(t: RemoteTarget, branch: string, commit: string): Promise<void> {
  const lease = await recorded(t.repoDir, recordRef(branch));
  const pending = await recorded(t.repoDir, pendingRef(branch));
  await git(t.repoDir, ["update-ref", pendingRef(branch), commit]);
  const push = (expect: string) =>
    remoteGit(
      t.repoDir,
      [
        "push",
        "--quiet",
        "--no-verify",
        `--force-with-lease=refs/heads/${branch}:${expect}`,
        "--",
        t.url,
        `${commit}:refs/heads/${branch}`,
      ],
      t,
    );
  try {
    await push(lease ?? "");
  } catch (err) {
    if (!(err instanceof RemoteGitError)) throw err;
    if (err.kind !== "stale") throw fromRemote(err, t.url, t.credentialsFile);
    const now = await remoteBranchCommit(t.repoDir, t.url, branch, t).catch((e: unknown) => {
      throw e instanceof RemoteGitError ? fromRemote(e, t.url, t.credentialsFile) : e;
    });
    // Already there: an earlier push whose answer was lost. Gone (deleted since, e.g. merged), or a
    // push of ours whose record the executor did not get to write: ours to replace.
    if (now !== commit && (now === null || now === pending)) {
      await push(now ?? "").catch((e: unknown) => {
        throw e instanceof RemoteGitError && e.kind === "stale"
          ? notOurs(branch)
          : e instanceof RemoteGitError
            ? fromRemote(e, t.url, t.credentialsFile)
            : e;
      });
    } else if (now !== commit) throw notOurs(branch);
  }
  await git(t.repoDir, ["update-ref", recordRef(branch), commit]);
  await git(t.repoDir, ["update-ref", "-d", pendingRef(branch)]);
}

/** Deletes the branch if it is still what the executor pushed; false when the remote has no such branch. */
export async function deleteBranch(t: RemoteTarget, branch: string): Promise<boolean> {
  const wrap = (e: unknown) => (e instanceof RemoteGitError ? fromRemote(e, t.url, t.credentialsFile) : e);
  const now = await remoteBranchCommit(t.repoDir, t.url, branch, t).catch((e: unknown) => {
    throw wrap(e);
  });
  const forget = () =>
    Promise.all([recordRef(branch), pendingRef(branch)].map((ref) => gitStatus(t.repoDir, ["update-ref", "-d", ref])));
  if (now === null) {
    await forget();
    return false;
  }
  const ours = [await recorded(t.repoDir, recordRef(branch)), await recorded(t.repoDir, pendingRef(branch))];
  if (!ours.includes(now)) throw notOurs(branch);
  try {
    await remoteGit(
      t.repoDir,
      [
        "push",
        "--quiet",
        "--no-verify",
        `--force-with-lease=refs/heads/${branch}:${now}`,
        "--",
        t.url,
        `:refs/heads/${branch}`,
      ],
      t,
    );
  } catch (err) {
    if (err instanceof RemoteGitError && err.kind === "stale") throw notOurs(branch);
    throw wrap(err);
  }
  await forget();
  return true;
}
