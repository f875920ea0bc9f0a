/**
 * The executor's signed callback: POST /api/callback/:taskId with the finished JobView. It is
 * authenticated by its HMAC (CALLBACK_SECRET), not the bearer, and turned into the event the
 * instance is waiting for. A lost callback loses nothing: the workflow polls the executor.
 */
import { JobView, SIGNATURE_HEADER, verifyBody } from "@vault-mcp/contract";
import { attemptOfJobKey, resultEventType, TaskId } from "../workflows/params.ts";
import { getConfig } from "./config.ts";
import { AppError, errorResponse, formatZodError } from "./errors.ts";
import { readBodyText } from "./http.ts";
import { log } from "./log.ts";

export async function handleCallback(request: Request, env: Env, taskId: string): Promise<Response> {
  try {
    const config = getConfig(env);
    if (!TaskId.safeParse(taskId).success) throw new AppError("not_found", "unknown task");
    const body = await readBodyText(request, config.maxBodyBytes);
    if (!(await verifyBody(config.callbackSecret, body, request.headers.get(SIGNATURE_HEADER)))) {
      throw new AppError("unauthorized", "bad or missing callback signature");
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new AppError("bad_json", "the callback body is not valid JSON");
    }
    const parsed = JobView.safeParse(json);
    if (!parsed.success) throw new AppError("invalid_input", `callback body is not a JobView: ${formatZodError(parsed.error)}`);
    const attempt = attemptOfJobKey(parsed.data.jobKey);
    if (attempt === null || !parsed.data.jobKey.startsWith(`${taskId}:`)) throw new AppError("invalid_input", "callback jobKey does not belong to this task");
    const instance = await env.EXECUTE_WORKFLOW.get(taskId).catch((err: unknown) => {
      throw new AppError("not_found", `no instance for task '${taskId}'`, { cause: err });
    });
    // Only a wake-up: the write step reads the full result from the executor, so the event stays small.
    await instance.sendEvent({ type: resultEventType(attempt), payload: { jobId: parsed.data.jobId, status: parsed.data.status } });
    log("info", "callback_received", { taskId, jobId: parsed.data.jobId, status: parsed.data.status });
    return Response.json({ ok: true }, { status: 202 });
  } catch (err) {
    return errorResponse(err);
  }
}
