/**
 * What can be done with a finished job's work (wired in app.ts):
 *   POST /jobs/:id/deliver   DeliverRequest → DeliverResult (push, then a pull request)
 *   POST /jobs/:id/discard   DiscardRequest → DiscardResult (close the pull request, delete the branch)
 *   GET  /jobs/:id/diff      ?cursor=…&side=a|b → DiffPage
 * Bodies and answers are the contract's (contract/src/delivery.ts). Errors: 400 a bad body or
 * cursor, 404 no such job, 409 nothing to deliver or diff yet, 502 the remote or GitHub failed
 * (delivery_auth, delivery_network, delivery_api), 409 delivery_refused.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { DeliverRequest, DiffSide, DiscardRequest, TERMINAL_JOB_STATUSES } from "@vault-mcp/contract";
import { NotFoundError } from "../../delivery/deliver.ts";
import { BadCursorError, diffPage } from "../../delivery/diff.ts";
import { DeliveryError } from "../../delivery/errors.ts";
import { RepoNotAllowedError } from "../../worktree/errors.ts";
import { gitStatus } from "../../worktree/git.ts";
import { HttpError, readJson, send } from "../http.ts";
import { describeIssues } from "../validation.ts";
import type { JobRoutes, RouteContext } from "./context.ts";

export const JOB_ACTIONS = ["deliver", "discard", "diff"] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

export async function jobAction(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  call: { jobId: string; action: JobAction; url: URL },
): Promise<void> {
  const { jobId, action, url } = call;
  const method = action === "diff" ? "GET" : "POST";
  if (req.method !== method)
    throw new HttpError(405, "method_not_allowed", `use ${method} /jobs/:id/${action}`, { allow: method });
  const routes = ctx.jobRoutes;
  if (!routes) throw new HttpError(404, "not_found", `this executor does not serve /jobs/:id/${action}`);
  const deps = { ...routes, store: ctx.store };
  try {
    if (action === "diff") return send(res, 200, await diff(deps, jobId, url));
    const body = await readJson(req, ctx.config.MAX_BODY_BYTES);
    if (action === "deliver") {
      const parsed = DeliverRequest.safeParse(body);
      if (!parsed.success)
        throw new HttpError(400, "invalid_input", `invalid delivery: ${describeIssues(parsed.error.issues)}`);
      return send(res, 200, await deps.delivery.deliver(jobId, parsed.data));
    }
    const parsed = DiscardRequest.safeParse(body);
    if (!parsed.success)
      throw new HttpError(400, "invalid_input", `invalid discard: ${describeIssues(parsed.error.issues)}`);
    return send(res, 200, await deps.delivery.discard(jobId, parsed.data));
  } catch (err) {
    if (err instanceof DeliveryError) throw new HttpError(err.status, err.code, err.message);
    if (err instanceof NotFoundError) throw new HttpError(404, "not_found", err.message);
    if (err instanceof BadCursorError) throw new HttpError(400, "bad_cursor", err.message);
    throw err;
  }
}

async function diff(deps: JobRoutes & Pick<RouteContext, "store">, jobId: string, url: URL) {
  const side = DiffSide.safeParse(url.searchParams.get("side") ?? "a");
  if (!side.success) throw new HttpError(400, "invalid_input", "side must be 'a' or 'b' (b: consensus' second side)");
  const cursor = url.searchParams.get("cursor") ?? undefined;
  if (cursor !== undefined && cursor.length > 1000) throw new BadCursorError("cursor is too long");
  const rec = deps.store.get(jobId);
  if (!rec) throw new NotFoundError(`no job '${jobId}' on this executor`);
  if (!TERMINAL_JOB_STATUSES.includes(rec.status))
    throw new HttpError(409, "not_finished", `job ${jobId} is ${rec.status}: its diff is there once it has finished`);
  const base = rec.result?.base;
  if (!rec.result || !base)
    throw new HttpError(409, "no_diff", `job ${jobId} has no recorded base (it got no worktree): there is no diff`);
  if (side.data === "b" && rec.result.runB === undefined)
    throw new HttpError(400, "invalid_input", `job ${jobId} is not a consensus job: it has only side 'a'`);
  let repoDir: string;
  try {
    repoDir = await deps.repoPath(rec.request.repo);
  } catch (err) {
    if (!(err instanceof RepoNotAllowedError)) throw err;
    throw new HttpError(409, "no_diff", `repo '${rec.request.repo}' is no longer on this executor`);
  }
  // Side b's commit is not in the result: it is its branch's tip (no branch: it changed nothing).
  const commit = side.data === "a" ? rec.result.commit : await branchTip(repoDir, `vault/${jobId}-b`, base.commit);
  return diffPage({ repoDir, jobId, side: side.data, base: base.commit, commit }, cursor);
}

async function branchTip(repoDir: string, branch: string, base: string): Promise<string | null> {
  const r = await gitStatus(repoDir, ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`], {
    okCodes: [0, 1],
  });
  const tip = r.exitCode === 0 ? r.stdout.trim() : null;
  return tip === base ? null : tip;
}
