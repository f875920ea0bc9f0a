/**
 * Delivering a job's work and reading it: the executor's `POST /jobs/:id/deliver` (push the job's
 * commit to `vault/<taskId>` on its repo's remote, then open or update a pull request),
 * `POST /jobs/:id/discard` (close that pull request, delete that branch) and `GET /jobs/:id/diff`
 * (the unified diff against the job's base, paged). Only jobs of a repo registered by URL (the
 * request's `source`) can be delivered or discarded; any finished job with a base has a diff.
 */
import { z } from "zod";
import { GitRef } from "./job.ts";
import { ChangedFile } from "./result.ts";

/**
 * The only branches the executor pushes or deletes: `vault/` and one more ref component (the task
 * id). It never pushes to another branch, nor to one that it did not create (see deliver).
 */
export const DeliveryBranch = z
  .string()
  .regex(
    /^vault\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    "branch must be 'vault/<taskId>' (letters, digits, . _ - after 'vault/')",
  )
  .refine((s) => !s.includes("..") && !s.endsWith(".lock") && !s.endsWith("."), "branch is not a valid git branch");
export type DeliveryBranch = z.infer<typeof DeliveryBranch>;

/** A GitHub repository as `OWNER/REPO`. */
export const GitHubRepoName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/,
    "github must be 'OWNER/REPO' as on github.com, e.g. 'octo-org/app'",
  )
  .refine((s) => ![".", ".."].includes(s.split("/")[1] ?? ""), "github must be 'OWNER/REPO'");
export type GitHubRepoName = z.infer<typeof GitHubRepoName>;

/** `none` (the branch stays on the executor) is the Worker's choice: nothing is sent for it. */
export const DeliveryMode = z.enum(["push", "pr"]);
export type DeliveryMode = z.infer<typeof DeliveryMode>;

/**
 * What happens to a succeeded task's work, per repo (its default) and per task: `none` (it stays on
 * the executor's branch), `push` (pushed to `vault/<taskId>`), `pr` (pushed, then a pull request).
 */
export const DeliverSetting = z.enum(["none", ...DeliveryMode.options]);
export type DeliverSetting = z.infer<typeof DeliverSetting>;

export const PullRequestSpec = z.strictObject({
  github: GitHubRepoName,
  /** The branch the pull request merges into; default: the job's source default branch. */
  base: GitRef.optional(),
  /** GitHub's limit is 256 characters. */
  title: z.string().min(1).max(256),
  /** GitHub's limit is 65,536 characters. */
  body: z.string().max(65_536),
});
export type PullRequestSpec = z.infer<typeof PullRequestSpec>;

export const DeliverRequest = z
  .strictObject({
    branch: DeliveryBranch,
    mode: DeliveryMode,
    pr: PullRequestSpec.optional(),
  })
  .refine((r) => (r.mode === "pr") === (r.pr !== undefined), {
    message: "give 'pr' ({github, title, body}) exactly when mode is 'pr'",
    path: ["pr"],
  });
export type DeliverRequest = z.infer<typeof DeliverRequest>;

export const PullRequestRef = z.strictObject({
  number: z.int().positive(),
  /** The pull request's page (html_url). */
  url: z.string(),
});
export type PullRequestRef = z.infer<typeof PullRequestRef>;

/** 200 of POST /jobs/:id/deliver. Delivering again is safe: same branch, same commit, the same PR updated. */
export const DeliverResult = z.strictObject({
  branch: DeliveryBranch,
  commit: z.string(),
  pushed: z.literal(true),
  pr: PullRequestRef.nullable(),
});
export type DeliverResult = z.infer<typeof DeliverResult>;

export const DiscardRequest = z.strictObject({
  branch: DeliveryBranch,
  /** Where to close the open pull requests of `branch`; absent: no pull request is looked for. */
  github: GitHubRepoName.optional(),
});
export type DiscardRequest = z.infer<typeof DiscardRequest>;

/** 200 of POST /jobs/:id/discard; discarding again answers the same with nothing left to do. */
export const DiscardResult = z.strictObject({
  branch: DeliveryBranch,
  /** False when the remote had no such branch (already deleted). */
  branchDeleted: z.boolean(),
  /** Numbers of the pull requests this call closed. */
  prsClosed: z.array(z.int().positive()),
});
export type DiscardResult = z.infer<typeof DiscardResult>;

/**
 * Error codes of deliver and discard (WireError, status 502, or 409 for `delivery_refused`):
 * - `delivery_auth`: the remote or GitHub refused the credentials (401/403), or GIT_CREDENTIALS has
 *   none for the host: fix the file on the executor, then deliver again.
 * - `delivery_network`: the remote or the API could not be reached, timed out or answered 5xx: retry.
 * - `delivery_api`: another refusal (repository not found, validation failed, a protected branch).
 * - `delivery_refused`: the remote branch holds commits the executor did not push: it is left alone.
 * A job that cannot be delivered (not succeeded, no commit, no source) is `409 not_deliverable`.
 */
export const DeliveryErrorCode = z.enum(["delivery_auth", "delivery_network", "delivery_api", "delivery_refused"]);
export type DeliveryErrorCode = z.infer<typeof DeliveryErrorCode>;

export const DiffSide = z.enum(["a", "b"]);
export type DiffSide = z.infer<typeof DiffSide>;

/** Largest `text` of one diff page, in bytes of UTF-8. */
export const MAX_DIFF_PAGE_BYTES = 64 * 1024;

export const DiffStat = z.strictObject({
  /** Per file: lines added and deleted, null for a binary file. */
  files: z.array(ChangedFile),
  added: z.int().nonnegative(),
  deleted: z.int().nonnegative(),
});
export type DiffStat = z.infer<typeof DiffStat>;

/**
 * 200 of GET /jobs/:id/diff[?cursor=…][&side=a|b]: the unified diff of the job's commit (side `b`:
 * consensus' second side) against its base, in pages. The pages' `text`s, concatenated, are the
 * whole diff; binary files appear as "Binary files … differ", never their content.
 */
export const DiffPage = z.strictObject({
  jobId: z.string(),
  side: DiffSide,
  base: z.string(),
  /** null when the side changed nothing (its diff is empty). */
  commit: z.string().nullable(),
  /** The diffstat, on the first page (no cursor) only. */
  stat: DiffStat.nullable(),
  text: z.string(),
  /** Opaque: pass it back as `?cursor=` for the next page; null on the last page. */
  cursor: z.string().nullable(),
  /** The diff was larger than the executor serves: the pages end before its end. */
  truncated: z.boolean(),
});
export type DiffPage = z.infer<typeof DiffPage>;
