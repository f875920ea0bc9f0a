/** Small node:http helpers: typed errors as WireError bodies, and a bounded JSON body reader. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { WireError } from "@vault-mcp/contract";

export class HttpError extends Error {
  override readonly name = "HttpError";
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

/**
 * Answers with a WireError. When the request body was not (fully) read — a 401, 413 or 415 decided
 * from the headers — the connection is closed after the answer instead of being kept alive: keeping
 * it would make node drain the whole unread body first, which is exactly what refusing early avoids.
 */
export function sendError(req: IncomingMessage, res: ServerResponse, err: HttpError): void {
  const body: WireError = { error: { code: err.code, message: err.message } };
  send(res, err.status, body, req.complete ? err.headers : { ...err.headers, connection: "close" });
}

const JSON_TYPE = /^application\/json\s*(?:;|$)/i;

/**
 * Reads a JSON body: 415 for anything but application/json, 413 past `limit` bytes (with `hint`
 * saying what fits), 400 for bad JSON.
 */
export async function readJson(req: IncomingMessage, limit: number, hint = "send a shorter body"): Promise<unknown> {
  if (!JSON_TYPE.test(req.headers["content-type"] ?? "")) {
    throw new HttpError(
      415,
      "unsupported_media_type",
      "send the body as JSON with the header 'Content-Type: application/json'",
    );
  }
  const tooLarge = () => new HttpError(413, "payload_too_large", `the body is larger than ${limit} bytes: ${hint}`);
  if (Number(req.headers["content-length"] ?? "0") > limit) throw tooLarge();
  // Listeners rather than `for await`: leaving that loop early destroys the socket, and the 413
  // could not be sent any more.
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      // Chunked bodies declare no length: stop collecting the moment the limit is passed.
      if (size > limit) {
        cleanup();
        req.pause();
        reject(tooLarge());
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => onError(new Error("the client closed the connection before the body ended"));
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The caller's mistake, answered as such; there is nothing to log.
    throw new HttpError(400, "bad_json", "the body is not valid JSON");
  }
}
