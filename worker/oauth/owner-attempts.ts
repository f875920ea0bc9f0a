/**
 * Every try at the owner secret — the consent page's Allow and the status page's sign-in — counts
 * against one limit per client IP (the CONSENT_LIMITER binding, 5 a minute), so alternating between
 * the two pages does not buy a guesser more attempts. Counted before the secret is read, so a wrong
 * guess and a right one cost the same attempt.
 */
import { log } from "../../core/log.ts";
import { tokensEqual } from "../guards/auth.ts";
import { clientAddress } from "./limits.ts";

export const OWNER_ATTEMPTS_PER_MINUTE = 5;

export interface OwnerAttempt {
  allowed: boolean;
  ip: string;
}

/** Takes one attempt from the caller's budget; `where` names the page in the log line. */
export async function takeOwnerAttempt(request: Request, env: Env, where: "consent" | "status"): Promise<OwnerAttempt> {
  const ip = clientAddress(request);
  const { success } = await env.CONSENT_LIMITER.limit({ key: `consent:${ip}` });
  if (!success) log("warn", `${where}_rate_limited`, { ip });
  return { allowed: success, ip };
}

/** Constant-time check of what was typed against OWNER_SECRET. */
export function isOwnerSecret(presented: string, ownerSecret: string): Promise<boolean> {
  return tokensEqual(presented, ownerSecret);
}
