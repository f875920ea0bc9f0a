import { AppError, errorResponse } from "../errors.ts";
import type { Guard } from "./types.ts";

const encoder = new TextEncoder();

/**
 * Constant-time token check: hash both sides so the compared buffers have the same length whatever
 * the caller sent, then compare every byte (no early exit).
 */
export async function tokensEqual(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(presented)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] as number) ^ (y[i] as number);
  return diff === 0;
}

/** Bearer auth, checked before the body is read. The token is never forwarded anywhere. */
export const authGuard: Guard = async (request, config) => {
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match?.[1] && (await tokensEqual(match[1], config.authToken))) return undefined;
  return errorResponse(
    new AppError("unauthorized", "missing or wrong bearer token; send 'Authorization: Bearer <VAULT_AUTH_TOKEN>'", {
      headers: { "www-authenticate": 'Bearer realm="vault-mcp"' },
    }),
  );
};
