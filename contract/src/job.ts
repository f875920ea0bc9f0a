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

/** A verification command as an argument vector (never run through a shell), e.g. ["npm", "test"]. */
export const VerifyCommand = z.array(z.string().min(1).max(1000)).min(1).max(64);

export const MAX_PROMPT_CHARS = 100_000;

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
    prompt: z.string().min(1).max(MAX_PROMPT_CHARS),
    repo: RepoName,
    ref: GitRef.optional(),
    timeoutMs: z.int().min(1_000).max(3_600_000).optional(),
    verbosity: Verbosity.optional(),
    verify: VerifyCommand.optional(),
    callbackUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .refine((r) => (r.profile === undefined) !== (r.executor === undefined), {
    message: "give exactly one of 'profile' (a ladder profile) or 'executor' (a CLI name)",
    path: ["profile"],
  });
export type JobRequest = z.infer<typeof JobRequest>;

export const JobStatus = z.enum(["queued", "running", "succeeded", "failed", "interrupted"]);
export type JobStatus = z.infer<typeof JobStatus>;
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "interrupted"];
