/**
 * Anything thrown → the wire's error body (the contract's WireError). The caller gets the code and a
 * message that says what to do; the cause (stack, SQL, upstream body) goes to the log only.
 */
import type { WireError } from "@vault-mcp/contract";
import { z } from "zod";
import { AppError, ConfigError, describe, formatZodError } from "../core/errors.ts";
import { log } from "../core/log.ts";

/** Maps anything thrown to a wire error. Unknown failures get a generic message and are logged. */
export function toWireError(err: unknown): { status: number; body: WireError; headers: Record<string, string> } {
  if (err instanceof AppError) {
    if (err.cause !== undefined)
      log("warn", "request_failed", { code: err.code, message: err.message, cause: describe(err.cause) });
    return { status: err.status, body: { error: { code: err.code, message: err.message } }, headers: err.headers };
  }
  if (err instanceof z.ZodError) {
    return {
      status: 400,
      body: { error: { code: "invalid_input", message: `invalid input: ${formatZodError(err)}` } },
      headers: {},
    };
  }
  const message =
    err instanceof ConfigError
      ? "The server is misconfigured; the operator has been told in the logs."
      : "Internal error; retry later. If it persists, check the Worker logs.";
  log("error", "unhandled_error", { error: describe(err) });
  return { status: 500, body: { error: { code: "internal", message } }, headers: {} };
}

export function errorResponse(err: unknown): Response {
  const { status, body, headers } = toWireError(err);
  return Response.json(body, { status, headers });
}
