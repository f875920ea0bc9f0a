import { execFile } from "node:child_process";

export class GitError extends Error {
  override readonly name = "GitError";
  readonly stderr: string;

  constructor(message: string, stderr: string) {
    super(message);
    this.stderr = stderr;
  }
}

/** git with an argv array, no hooks, no prompts, no pager; throws GitError with stderr on failure. */
export function git(cwd: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      ["-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false", "-c", "gc.auto=0", ...args],
      {
        cwd,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", GIT_TERMINAL_PROMPT: "0", GIT_PAGER: "cat", LANG: "C" },
        encoding: "utf8",
      },
      (err, stdout, stderr) => {
        if (err) reject(new GitError(`git ${args[0]} failed: ${stderr.trim().split("\n")[0] ?? err.message}`, stderr));
        else resolve(stdout);
      },
    );
  });
}
