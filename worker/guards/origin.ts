import { AppError } from "../../core/errors.ts";
import { errorResponse } from "../errors.ts";
import type { Guard } from "./types.ts";

/**
 * DNS-rebinding defence for Streamable HTTP: a browser always sends Origin, so a present Origin must
 * be allowlisted (`null`, sent by sandboxed frames and file: pages, never is). Servers and CLIs send
 * none and go on to auth.
 */
export const originGuard: Guard = (request, config) => {
  const origin = request.headers.get("origin");
  if (origin === null) return undefined;
  if (origin !== "null" && config.allowedOrigins.includes(origin)) return undefined;
  return errorResponse(
    new AppError("forbidden_origin", "this Origin is not allowed; call from an allowlisted origin or without one"),
  );
};
