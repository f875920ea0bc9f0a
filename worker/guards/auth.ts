import { AppError } from "../../core/errors.ts";
import { errorResponse } from "../errors.ts";
import type { AsyncGuard } from "./types.ts";

const encoder = new TextEncoder();

/**
 * workerd's constant-time compare. worker-configuration.d.ts declares it, but @types/node (pulled in
 * by the test types) redeclares the global `crypto` without it, hence this one narrow assertion.
 */
const subtle = crypto.subtle as typeof crypto.subtle & { timingSafeEqual(a: ArrayBuffer, b: ArrayBuffer): boolean };

/**
 * Constant-time token check: hash both sides so the compared buffers have the same length whatever
 * the caller sent (timingSafeEqual throws on unequal lengths, and a length check would leak one),
 * then compare the digests with the runtime's constant-time compare.
 */
export async function tokensEqual(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    subtle.digest("SHA-256", encoder.encode(presented)),
    subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return subtle.timingSafeEqual(a, b);
}

/**
 * Bearer auth, checked before the body is read. The token is compared and dropped: nothing the
 * Worker sends (executor jobs, health probes, logs) ever carries it.
 */
export const authGuard: AsyncGuard = async (request, config) => {
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match?.[1] && (await tokensEqual(match[1], config.authToken))) return undefined;
  return errorResponse(
    new AppError("unauthorized", "missing or wrong bearer token; send 'Authorization: Bearer <VAULT_AUTH_TOKEN>'", {
      headers: { "www-authenticate": 'Bearer realm="vault-mcp"' },
    }),
  );
};
