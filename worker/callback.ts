/**
 * The executor's signed callback: POST /api/callback/:taskId with the finished JobView. It is
 * authenticated by its HMAC signature (CALLBACK_SECRET, `x-vault-signature`), not the bearer, and
 * becomes the `executor-result-<attempt>` event the instance waits for: one event type per attempt,
 * so a late callback of attempt 1 can never wake attempt 2's wait. The payload is the JobView slimmed
 * (workflows/result-event.ts); the workflow validates it again and matches the job id. A lost
 * callback loses nothing: the workflow polls the executor when its wait times out.
 *
 * The executor keeps a callback owed until it gets a 2xx, or an answer saying the task no longer
 * wants it (CALLBACK_UNWANTED_STATUSES: 404 no task or instance, 409 the instance has finished).
 * So a refusal that may pass is never one of those: an engine that cannot take the event now is 503.
 */
import { JobView, SIGNATURE_HEADER, TaskId, verifyBody } from "@vault-mcp/contract";
import { getConfig } from "../core/config.ts";
import { AppError, describe, formatZodError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { recordLateResult } from "../workflows/lease.ts";
import { attemptOfJobKey, resultEventType } from "../workflows/params.ts";
import { slimJobView } from "../workflows/result-event.ts";
import { jobKeyFor } from "../workflows/steps/dispatch.ts";
import { recordCallback } from "../workflows/steps/write.ts";
import { errorResponse } from "./errors.ts";
import { readBodyText } from "./http.ts";

/**
 * A finished job's view holds up to two CLI outputs (1 MiB each at the executor's cap) plus verify
 * output, so a callback can exceed the API's MAX_BODY_BYTES. Refusing it would cost the task the
 * whole wait (job timeout + 60 s) before the poll; the HMAC check follows the read either way.
 */
const CALLBACK_MAX_BODY_BYTES = 8 * 1024 * 1024;

export async function handleCallback(request: Request, env: Env, taskId: string): Promise<Response> {
  try {
    const config = getConfig(env);
    // Verify before parsing anything else: an unsigned body is never looked at.
    const body = await readBodyText(request, Math.max(config.maxBodyBytes, CALLBACK_MAX_BODY_BYTES));
    if (!(await verifyBody(config.callbackSecret, body, request.headers.get(SIGNATURE_HEADER)))) {
      throw new AppError("unauthorized", "bad or missing callback signature");
    }
    if (!TaskId.safeParse(taskId).success) throw new AppError("not_found", "unknown task");
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new AppError("bad_json", "the callback body is not valid JSON");
    }
    const parsed = JobView.safeParse(json);
    if (!parsed.success)
      throw new AppError("invalid_input", `callback body is not a JobView: ${formatZodError(parsed.error)}`);
    const view = parsed.data;
    const attempt = attemptOfJobKey(view.jobKey);
    if (attempt === null || view.jobKey !== jobKeyFor(taskId, attempt))
      throw new AppError("invalid_input", "callback jobKey does not belong to this task");
    // An attempt lost to an expired lease: its executor came back with the result. Noted on the
    // attempt whatever the instance does now; it is never counted (the attempt ran again).
    await recordLateResult(env.DB, { view, taskId, attempt, now: Date.now() }).catch((err: unknown) =>
      log("warn", "late_result_write_failed", { taskId, attempt, error: describe(err) }),
    );
    let instance: WorkflowInstance;
    try {
      instance = await env.EXECUTE_WORKFLOW.get(taskId);
    } catch (err) {
      throw new AppError("not_found", `no instance for task '${taskId}'`, { cause: err });
    }
    // A finished instance takes no result: 409 tells the executor to stop (CALLBACK_UNWANTED_STATUSES).
    // The engine does not always refuse such an event itself, so the status is asked first.
    const { status } = await instance.status().catch(() => ({ status: null }));
    if (status === "complete" || status === "errored" || status === "terminated")
      throw new AppError("conflict", `task '${taskId}' has finished and takes no result event`);
    // The full job is here: its stage is written now, so the instance's write step need not fetch it
    // again. A write that fails is the write step's to do (it fetches the job as before).
    await recordCallback(env.DB, { view, taskId, attempt, now: Date.now(), thresholds: config.breakers }).catch(
      (err: unknown) => log("warn", "callback_write_failed", { taskId, attempt, error: describe(err) }),
    );
    try {
      await instance.sendEvent({ type: resultEventType(attempt), payload: slimJobView(view) });
    } catch (err) {
      // The engine could not take it now (restarting): worth another try, so the executor keeps it owed.
      throw new AppError("overloaded", `task '${taskId}' cannot take its result now; try again`, {
        cause: err,
        headers: { "retry-after": "5" },
      });
    }
    log("info", "callback_received", { taskId, attempt, jobId: view.jobId, status: view.status });
    return Response.json({ ok: true }, { status: 202 });
  } catch (err) {
    return errorResponse(err);
  }
}
