import { AppError } from "../core/errors.ts";
import { MAX_REQUEST_DEPTH, nestsDeeperThan, tooDeepMessage } from "../core/json-limits.ts";

/**
 * Reads a request body as text, refusing more than `limit` bytes whatever Content-Length claims
 * (a chunked body has none).
 */
export async function readBodyText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge(limit);
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** The 413 for a body over `limit` bytes, whichever finds it: the size guard or the reader. */
export function tooLarge(limit: number): AppError {
  return new AppError("payload_too_large", `request body is larger than ${limit} bytes; send a smaller body`);
}

/**
 * Reads and parses a JSON body (REST). Empty bodies parse as `{}` so optional-only inputs work. The
 * Content-Type is the media guard's to check: every /api request passes it before any route runs.
 */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  const text = await readBodyText(request, limit);
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    throw new AppError("bad_json", "the request body is not valid JSON");
  }
  // Before zod or anything else walks it (JSON.parse itself is iterative).
  if (nestsDeeperThan(body, MAX_REQUEST_DEPTH)) throw new AppError("invalid_input", tooDeepMessage("the JSON body"));
  return body;
}
