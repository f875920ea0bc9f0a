/**
 * Typed worktree errors, each with a stable `code` for the wire. `message` names only what the
 * caller sent; `detail` (paths, git's stderr) is for the log.
 */
export type WorktreeErrorCode =
  | "repo_not_allowed"
  | "invalid_ref"
  | "ref_not_found"
  | "invalid_job_id"
  | "unknown_worktree"
  | "git_failed";

export class WorktreeError extends Error {
  override name = "WorktreeError";
  readonly code: WorktreeErrorCode;
  readonly detail: string;

  constructor(code: WorktreeErrorCode, message: string, detail = "", options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.detail = detail;
  }
}

/**
 * A bad name, a name outside the allowlist, a symlink out of reposDir, or a directory that is not a
 * repository: one code and one message shape, so a caller cannot probe what exists on the VM.
 */
export class RepoNotAllowedError extends WorktreeError {
  override name = "RepoNotAllowedError";
  constructor(repo: string, detail: string) {
    super("repo_not_allowed", `repo '${printable(repo)}' is not allowed`, detail);
  }
}

/** Syntax the contract's GitRef refuses (e.g. `--upload-pack=x`, `a..b`); git never sees it. */
export class InvalidRefError extends WorktreeError {
  override name = "InvalidRefError";
  constructor(ref: string) {
    super("invalid_ref", `ref '${printable(ref)}' is not a valid git ref`);
  }
}

export class RefNotFoundError extends WorktreeError {
  override name = "RefNotFoundError";
  constructor(repo: string, ref: string, options?: { cause?: unknown }) {
    super("ref_not_found", `ref '${printable(ref)}' does not exist in repo '${printable(repo)}'`, "", options);
  }
}

export class InvalidJobIdError extends WorktreeError {
  override name = "InvalidJobIdError";
  constructor(jobId: string) {
    super("invalid_job_id", `job id '${printable(jobId)}' cannot be used in a branch name`);
  }
}

/** release() of a worktree this manager does not hold (released twice, or from before a restart). */
export class UnknownWorktreeError extends WorktreeError {
  override name = "UnknownWorktreeError";
  constructor(dir: string) {
    super("unknown_worktree", "worktree is not held by this executor (released twice?)", dir);
  }
}

export class GitError extends WorktreeError {
  override name = "GitError";
  readonly stderr: string;
  readonly argv: readonly string[];
  constructor(message: string, stderr: string, argv: readonly string[]) {
    super("git_failed", message, stderr);
    this.stderr = stderr;
    this.argv = argv;
  }
}

/** Caller-sent strings are echoed shortened and without control characters. */
function printable(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, "?");
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean;
}
