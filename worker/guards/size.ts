import { errorResponse } from "../errors.ts";
import { tooLarge } from "../http.ts";
import type { Guard } from "./types.ts";

/**
 * Refuses a declared oversize body before anything reads it. A chunked body declares nothing, so
 * readBodyText (worker/http.ts) enforces the same cap while reading.
 */
export const sizeGuard: Guard = (request, config) => {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (!(declared > config.maxBodyBytes)) return undefined;
  return errorResponse(tooLarge(config.maxBodyBytes));
};
