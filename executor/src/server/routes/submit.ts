/**
 * Admitting a new job (POST /jobs and POST /execute). Order: draining → body (415/413/400) → schema
 * (400) → profile and repo (400) → idempotency and admission, synchronously (422/429/503) → queue.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { JobRequest, MAX_PROMPT_CHARS } from "@vault-mcp/contract";
import { admit } from "../../jobs/idempotency.ts";
import { log } from "../../log.ts";
import { ProfileError } from "../../profiles.ts";
import { SourceError } from "../../remote/sources.ts";
import { RepoNotAllowedError } from "../../worktree/errors.ts";
import { HttpError, readJson } from "../http.ts";
import { describeIssues } from "../validation.ts";
import { type RouteContext, shuttingDown } from "./context.ts";

/** Validates, admits and queues the job; returns its id (an existing one for a repeated jobKey). */
export async function submitJob(ctx: RouteContext, req: IncomingMessage): Promise<string> {
  const { config, store, queue, runner } = ctx;
  if (ctx.draining()) throw shuttingDown();
  const parsed = JobRequest.safeParse(
    await readJson(
      req,
      config.MAX_BODY_BYTES,
      `a job takes at most ${config.MAX_BODY_BYTES} bytes of JSON, which holds any valid job (a prompt is at most ${MAX_PROMPT_CHARS} characters); shorten the prompt`,
    ),
  );
  if (!parsed.success) throw new HttpError(400, "invalid_input", `invalid job: ${describeIssues(parsed.error.issues)}`);
  const job = parsed.data;
  let slots: number;
  try {
    slots = runner.sidesFor(job).length;
    await ctx.checkRepo?.(job.repo, job.source);
  } catch (err) {
    if (err instanceof RepoNotAllowedError) throw new HttpError(400, "repo_not_allowed", await repoRefusal(ctx, err));
    // A source whose name is taken by a repo placed by hand: the message says what to do instead.
    if (err instanceof SourceError) throw new HttpError(400, "repo_not_allowed", `invalid job: ${err.message}`);
    if (err instanceof ProfileError) throw new HttpError(400, "invalid_input", `invalid job: ${err.message}`);
    throw err;
  }
  // No await from here to the enqueue: concurrent duplicates cannot both insert (jobs/idempotency.ts).
  const a = admit(store, job, {
    newId: () => `j-${randomUUID()}`,
    now: ctx.now,
    gate: () => (ctx.draining() ? "draining" : queue.hasRoom() ? null : "queue_full"),
  });
  switch (a.kind) {
    case "existing":
      return a.jobId;
    case "conflict":
      throw new HttpError(
        422,
        "job_key_conflict",
        `jobKey '${job.jobKey}' was already used with a different body; send the same body again or use a new jobKey`,
      );
    case "refused":
      if (a.reason === "draining") throw shuttingDown();
      throw new HttpError(
        429,
        "queue_full",
        "all executors are busy and the queue is full; retry after the Retry-After seconds",
        { "retry-after": String(queue.retryAfterSeconds()) },
      );
    case "created": {
      const accepted = queue.submit({ id: a.jobId, slots, run: () => runner.run(a.jobId, ctx.jobSignal) });
      // hasRoom() was true a moment ago with no await in between, so this cannot happen; if it
      // ever does, the job must not sit `queued` forever.
      if (!accepted) {
        runner.interrupt(a.jobId);
        throw new HttpError(429, "queue_full", "the queue is full; retry later", {
          "retry-after": String(queue.retryAfterSeconds()),
        });
      }
      log("info", "job_accepted", { jobId: a.jobId, jobKey: job.jobKey, queued: queue.queued, running: queue.running });
      return a.jobId;
    }
  }
}

/** The refusal names the repos the caller may use; when they cannot be listed it says so. */
async function repoRefusal(ctx: RouteContext, err: RepoNotAllowedError): Promise<string> {
  let has: string;
  try {
    const names = (await ctx.repos?.()) ?? [];
    has = names.length > 0 ? `this executor has: ${names.join(", ")}` : "this executor has no repository yet";
  } catch (listErr) {
    // The caller's mistake is still the answer; the disk's trouble goes to the log.
    log("warn", "repos_list_failed", { error: listErr instanceof Error ? listErr.message : String(listErr) });
    has = "the executor could not list its repositories";
  }
  return `invalid job: ${err.message}; ${has}`;
}
