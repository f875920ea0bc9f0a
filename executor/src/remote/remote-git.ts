/**
 * git against a remote (clone, fetch, ls-remote, push), as the executor's own user: the safety
 * config of every executor git command (worktree/git.ts: no hooks, no fsmonitor, no global config,
 * no prompt) plus remoteConfigArgs (credentials from GIT_CREDENTIALS through a read-only helper).
 * A failure becomes a RemoteGitError whose kind says whose move it is: fix the credentials (`auth`),
 * retry (`network`), or read what the remote said (`rejected`, `other`).
 */
import { GitError } from "../worktree/errors.ts";
import { type GitOptions, type GitResult, gitStatus } from "../worktree/git.ts";
import { redact, remoteConfigArgs, secretsIn } from "./credentials.ts";

export type RemoteFailure = "auth" | "network" | "stale" | "rejected" | "other";

export class RemoteGitError extends Error {
  override readonly name = "RemoteGitError";
  readonly kind: RemoteFailure;
  /** git's stderr, with every secret of the credentials file cut out. */
  readonly detail: string;
  constructor(kind: RemoteFailure, message: string, detail: string) {
    super(message);
    this.kind = kind;
    this.detail = detail;
  }
}

export interface RemoteGitOptions extends GitOptions {
  credentialsFile: string | undefined;
}

const AUTH =
  /authentication failed|could not read (username|password)|terminal prompts disabled|returned error: 40[13]|HTTP 40[13]|invalid username or password|permission to .* denied|access denied/i;
const NETWORK =
  /could not resolve host|failed to connect|connection refused|connection reset|connection timed out|operation timed out|timed out after|couldn't connect|SSL|TLS|RPC failed|early EOF|unexpected disconnect|the remote end hung up|returned error: 5\d\d|empty reply|transfer closed|recv failure|send failure/i;

/** What a failed remote command means, from git's message (LANG=C, so English). */
export function classifyRemoteFailure(text: string): RemoteFailure {
  if (/\(stale info\)/.test(text)) return "stale";
  if (AUTH.test(text)) return "auth";
  if (NETWORK.test(text)) return "network";
  if (/\[remote rejected\]|\[rejected\]|pre-receive hook declined|protected branch/i.test(text)) return "rejected";
  return "other";
}

/** `git <args>` against a remote; throws RemoteGitError (never a message holding a secret). */
export async function remoteGit(cwd: string, args: readonly string[], opts: RemoteGitOptions): Promise<GitResult> {
  const { credentialsFile, ...gitOpts } = opts;
  try {
    return await gitStatus(cwd, [...remoteConfigArgs(credentialsFile), ...args], gitOpts);
  } catch (err) {
    if (!(err instanceof GitError)) throw err;
    const secrets = secretsIn(credentialsFile);
    const detail = redact(err.stderr, secrets);
    // GitError's message is "git <cmd> failed (…): <first stderr line>" or "…timed out after N ms".
    const text = `${err.message}\n${detail}`;
    const lines = detail
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("hint:"));
    const pick = (re: RegExp) => lines.find((l) => re.test(l));
    const said = pick(/^!/) ?? pick(/^(fatal|error):/i) ?? pick(/^remote:/i) ?? lines[0] ?? err.message;
    const summary = /timed out after/.test(err.message) ? err.message : said;
    throw new RemoteGitError(classifyRemoteFailure(text), redact(summary, secrets).slice(0, 500), detail);
  }
}

/** The commit of `refs/heads/<branch>` on the remote, or null when it has no such branch. */
export async function remoteBranchCommit(
  cwd: string,
  url: string,
  branch: string,
  opts: RemoteGitOptions,
): Promise<string | null> {
  const out = await remoteGit(cwd, ["ls-remote", "--heads", "--end-of-options", url, `refs/heads/${branch}`], opts);
  const line = out.stdout.split("\n").find((l) => l.endsWith(`\trefs/heads/${branch}`));
  return line ? (line.split("\t")[0] ?? null) : null;
}
