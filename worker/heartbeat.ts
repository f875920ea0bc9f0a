/**
 * POST /api/executors/heartbeat: an executor of the pool says it is alive and what it can do. Signed
 * with CALLBACK_SECRET like the callback (`x-vault-signature` over the body, within 5 minutes), not
 * the bearer. The body carries the executor's clock (`sentAt`): the row is updated only by a later
 * one, so a captured heartbeat sent again (to keep a dead executor looking alive) is refused (409).
 * The answer tells the executor whether an operator drained it, and the lease.
 */
import { Heartbeat, type HeartbeatAnswer, SIGNATURE_HEADER, verifyBody } from "@vault-mcp/contract";
import { lt, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { getConfig } from "../core/config.ts";
import { AppError, formatZodError } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { executors } from "../schema/index.ts";
import { errorResponse } from "./errors.ts";
import { readBodyText } from "./http.ts";
import { sweepLeases } from "./services/leases.ts";

/** A heartbeat is a few KiB; the repos list (≤ 1000 names) bounds it well below this. */
const HEARTBEAT_MAX_BODY_BYTES = 256 * 1024;

export async function handleHeartbeat(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  try {
    const config = getConfig(env);
    // Verify before parsing anything: an unsigned body is never looked at.
    const body = await readBodyText(request, HEARTBEAT_MAX_BODY_BYTES);
    if (!(await verifyBody(config.callbackSecret, body, request.headers.get(SIGNATURE_HEADER))))
      throw new AppError("unauthorized", "bad or missing heartbeat signature (sign it with CALLBACK_SECRET)");
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new AppError("bad_json", "the heartbeat body is not valid JSON");
    }
    const parsed = Heartbeat.safeParse(json);
    if (!parsed.success)
      throw new AppError(
        "invalid_input",
        `heartbeat body does not match the contract: ${formatZodError(parsed.error)}`,
      );
    const hb = parsed.data;
    const now = Date.now();
    const seen = {
      url: hb.url,
      capacity: hb.capacity,
      running: hb.running,
      queued: hb.queued,
      repos: hb.repos,
      readiness: hb.readiness,
      version: hb.version,
      stopping: hb.draining,
      sentAt: hb.sentAt,
      lastHeartbeatAt: now,
      updatedAt: now,
    };
    const [row] = await drizzle(env.DB)
      .insert(executors)
      .values({ id: hb.id, ...seen, createdAt: now })
      .onConflictDoUpdate({
        target: executors.id,
        set: seen,
        // Only a later heartbeat of this executor moves the row: a replayed or reordered one does not.
        setWhere: lt(executors.sentAt, sql`excluded.sent_at`),
      })
      .returning({ state: executors.state });
    if (!row) {
      log("warn", "heartbeat_replayed", { executorId: hb.id, sentAt: hb.sentAt });
      throw new AppError("conflict", "this heartbeat is not later than the last one from this executor (replayed?)");
    }
    // Off the answer's path: an executor that stopped heartbeating loses its running jobs' leases.
    ctx.waitUntil(sweepLeases(env, config, now));
    const answer: HeartbeatAnswer = { drain: row.state === "draining", leaseMs: config.leaseMs };
    return Response.json(answer);
  } catch (err) {
    return errorResponse(err);
  }
}
