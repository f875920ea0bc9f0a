import { z } from "zod";
import { CliName, ProfileName, Verbosity } from "./profiles.ts";

/** An allowlisted repository name: one path segment, no traversal, no leading dot or dash. */
export const RepoName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "repo must be a plain name like 'my-app' (letters, digits, . _ -)")
  .refine((s) => !s.includes(".."), "repo must not contain '..'");

/** A git ref we pass to git as an argument: no option-looking or traversal values. */
export const GitRef = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/, "ref must be a branch, tag or commit like 'main' or 'v1.2'")
  .refine((s) => !s.includes("..") && !s.endsWith(".lock") && !s.endsWith("/"), "ref is not a valid git ref");

/**
 * Where a repository registered by URL comes from: the executor clones `url` (as its own user) into
 * its repos dir under the job's `repo` name, and fetches `defaultBranch` before each job.
 *
 * Only http(s): the executor's credentials are git credential-store lines (`https://user:token@host`)
 * matched by host. No userinfo (a credential in a URL would end up in `.git/config`, logs and
 * results), no query or fragment, no other scheme: `file:` would let a caller clone any path on the
 * VM, `ext::` runs programs, and ssh would need keys the executor has no safe place for yet.
 */
export const RemoteUrl = z
  .string()
  .min(1)
  .max(2048)
  .refine((s) => remoteUrlProblem(s) === null, {
    error: (i) =>
      `url ${remoteUrlProblem(String(i.input)) ?? "is invalid"}: give an https URL like 'https://github.com/OWNER/REPO.git', without a user or token in it`,
  });

/** Why `s` is not an acceptable RemoteUrl, or null. */
export function remoteUrlProblem(s: string): string | null {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\s\u0000-\u001f\u007f]/.test(s)) return "must not contain spaces or control characters";
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return "is not a URL";
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return `must be http(s), not '${u.protocol}'`;
  if (u.username !== "" || u.password !== "" || /^[a-z]+:\/\/[^/]*@/i.test(s))
    return "must not carry a user or token (credentials live in the executor's GIT_CREDENTIALS file)";
  if (u.hostname === "") return "must name a host";
  if (u.search !== "" || u.hash !== "" || s.includes("?") || s.includes("#"))
    return "must not have a query or fragment";
  if (u.pathname === "/" || u.pathname === "") return "must name a repository path";
  return null;
}

export const RepoSource = z.strictObject({
  url: RemoteUrl,
  /** The branch fetched before each job; the job's worktree starts from its fetched commit. */
  defaultBranch: GitRef,
});
export type RepoSource = z.infer<typeof RepoSource>;

/** A verification command as an argument vector (never run through a shell), e.g. ["npm", "test"]. */
export const VerifyCommand = z.array(z.string().min(1).max(1000)).min(1).max(64);

export const MAX_PROMPT_CHARS = 100_000;

/**
 * The largest body a valid JobRequest can serialize to, and so the executor's smallest allowed body
 * cap: a request that passes this schema is never refused for its size. The bound, for JSON.stringify
 * output (worst case 6 bytes per UTF-16 unit, `\u001f` or a lone surrogate): prompt 100,000 × 6 =
 * 600,000; verify 64 × 1,000 × 6 = 384,000; callbackUrl 2,048 × 6; the other fields under 3,000; the
 * sum is under 1,000,000 < 1 MiB. A prompt travels to the CLI on stdin, so no argv limit applies.
 */
export const MAX_JOB_REQUEST_BYTES = 1024 * 1024;

/** A prompt: at most MAX_PROMPT_CHARS UTF-16 units (≤ 300 KB as UTF-8), no NUL (a CLI reads text). */
export const PromptText = z
  .string()
  .min(1)
  .max(MAX_PROMPT_CHARS)
  .refine((s) => !s.includes("\0"), "prompt must not contain a NUL character");

/**
 * The smallest budget a job may carry. Claude gets it as `--max-budget-usd <String(value)>`, which is
 * plain decimal notation from 1e-6 up (1e-7 would print as "1e-7").
 */
export const MIN_BUDGET_USD = 0.000_001;

export const JobRequest = z
  .strictObject({
    /** Idempotency key: the same key and body return the same job; another body with it is refused (422). */
    jobKey: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,199}$/, "jobKey must be 1-200 of [A-Za-z0-9:._-]"),
    profile: ProfileName.optional(),
    executor: CliName.optional(),
    model: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/, "model must be a model name like 'sonnet'")
      .optional(),
    prompt: PromptText,
    repo: RepoName,
    /**
     * Start from this branch, tag or commit. With `source`, it is resolved in the executor's clone
     * after the fetch; without it (the usual case) the job starts from the fetched default branch.
     */
    ref: GitRef.optional(),
    /**
     * The repo was registered by URL: the executor clones it under `repo` if it has no clone yet and
     * fetches `defaultBranch` before the job. Absent: a repo placed on the VM by hand (REPO_ALLOWLIST).
     */
    source: RepoSource.optional(),
    timeoutMs: z.int().min(1_000).max(3_600_000).optional(),
    verbosity: Verbosity.optional(),
    verify: VerifyCommand.optional(),
    callbackUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    /**
     * What is left of the task's budget, in USD: the run is stopped once it has spent this much. claude
     * gets it as `--max-budget-usd`; codex and gemini are stopped by the executor once the usage they
     * log while running, priced with its price table, passes it. A consensus job gives each side half.
     */
    maxBudgetUsd: z.number().min(MIN_BUDGET_USD).max(1_000_000).optional(),
  })
  .refine((r) => (r.profile === undefined) !== (r.executor === undefined), {
    message: "give exactly one of 'profile' (a ladder profile) or 'executor' (a CLI name)",
    path: ["profile"],
  });
export type JobRequest = z.infer<typeof JobRequest>;

export const JobStatus = z.enum(["queued", "running", "succeeded", "failed", "interrupted"]);
export type JobStatus = z.infer<typeof JobStatus>;
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "interrupted"];
