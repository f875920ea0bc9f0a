/**
 * One typed error for every failure the Worker and its Workflow report. The wire gets the code and a message that
 * tells the caller what to do; the cause (stack, SQL, upstream body) goes to the log only.
 */
import type { z } from "zod";

export type ErrorCode =
  | "unauthorized"
  | "forbidden_origin"
  | "forbidden_host"
  | "bad_host"
  | "insufficient_scope"
  | "rate_limited"
  | "payload_too_large"
  | "bad_json"
  | "unsupported_media_type"
  | "not_acceptable"
  | "method_not_allowed"
  | "invalid_input"
  | "not_found"
  | "conflict"
  | "breaker_open"
  | "executor_unavailable"
  | "delivery_failed"
  | "overloaded"
  | "internal";

function statusFor(code: ErrorCode): number {
  switch (code) {
    case "unauthorized":
      return 401;
    case "forbidden_origin":
    case "forbidden_host":
    case "insufficient_scope":
      return 403;
    case "rate_limited":
      return 429;
    case "payload_too_large":
      return 413;
    case "bad_json":
    case "invalid_input":
    case "bad_host":
      return 400;
    case "unsupported_media_type":
      return 415;
    case "not_acceptable":
      return 406;
    case "method_not_allowed":
      return 405;
    case "not_found":
      return 404;
    case "conflict":
      return 409;
    case "breaker_open":
      return 429;
    case "executor_unavailable":
    case "delivery_failed":
      return 502;
    case "overloaded":
      return 503;
    case "internal":
      return 500;
  }
}

export class AppError extends Error {
  override readonly name = "AppError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.headers = options?.headers ?? {};
  }
  readonly headers: Record<string, string>;
  get status(): number {
    return statusFor(this.code);
  }
}

/** `prompt: Too small: expected string to have >=1 characters; repo: …` — names each bad field. */
export function formatZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 10)
    .map((i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`)
    .join("; ");
}

/** Parses with zod and turns a failure into a 400 that names the fields to fix. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new AppError("invalid_input", `invalid input: ${formatZodError(r.error)}`);
  return r.data;
}

/** Typed failure for a misconfigured deployment: the wire gets a generic 500, logs get the field. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "config_invalid";
}

export function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}${err.cause ? ` (cause: ${describe(err.cause)})` : ""}`;
  return String(err);
}
