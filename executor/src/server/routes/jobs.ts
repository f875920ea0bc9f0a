/** POST /jobs (202), POST /execute (200 once finished) and GET /jobs/:id: each answers a JobView. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type JobView, TERMINAL_JOB_STATUSES } from "@vault-mcp/contract";
import { toView } from "../../jobs/store.ts";
import { HttpError, send } from "../http.ts";
import type { RouteContext } from "./context.ts";
import { submitJob } from "./submit.ts";

export async function postJob(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const jobId = await submitJob(ctx, req);
  send(res, 202, viewOf(ctx, jobId));
}

export async function postExecute(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const jobId = await submitJob(ctx, req);
  await waitDone(ctx, jobId);
  send(res, 200, viewOf(ctx, jobId));
}

export function getJob(ctx: RouteContext, res: ServerResponse, jobId: string): void {
  send(res, 200, viewOf(ctx, jobId));
}

function viewOf(ctx: RouteContext, jobId: string): JobView {
  const rec = ctx.store.get(jobId);
  if (!rec) throw new HttpError(404, "not_found", `no job '${jobId}' on this executor`);
  return toView(rec);
}

/** Until the runner says the job ended (even when the store could not record it), or it has already. */
function waitDone(ctx: RouteContext, jobId: string): Promise<void> {
  const { store, runner } = ctx;
  return new Promise((resolve) => {
    const done = (id: string) => {
      if (id !== jobId) return;
      runner.events.off("done", done);
      resolve();
    };
    runner.events.on("done", done);
    const rec = store.get(jobId);
    if (!rec || TERMINAL_JOB_STATUSES.includes(rec.status)) done(jobId);
  });
}
