/**
 * jobKey idempotency. The same key with the same body is the same job (never a second CLI run);
 * the same key with another body is refused. `admit` is synchronous from the lookup to the insert
 * (node:sqlite is synchronous too), so on one event loop two concurrent duplicates cannot both
 * insert: whichever runs first inserts, the other finds it. The UNIQUE index on job_key is the
 * backstop if that ever changes.
 */
import { createHash } from "node:crypto";
import type { JobRequest } from "@vault-mcp/contract";
import type { JobStore } from "./store.ts";

/** SHA-256 of the canonical JSON (keys sorted at every level), so key order does not matter. */
export function bodyHash(req: JobRequest): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([, x]) => x !== undefined)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, x]) => [k, canon(x)]),
          )
        : v;
  return createHash("sha256")
    .update(JSON.stringify(canon(req)))
    .digest("hex");
}

/**
 * Why a new job may not be created right now (checked only when the key is new): shutting down,
 * drained from the pool by an operator, or full.
 */
export type Gate = "draining" | "drained" | "queue_full" | null;

export type Admission =
  | { kind: "existing"; jobId: string }
  | { kind: "conflict"; jobId: string }
  | { kind: "refused"; reason: Exclude<Gate, null> }
  | { kind: "created"; jobId: string };

export interface AdmitOptions {
  newId: () => string;
  now: () => Date;
  /** Asked only for a new key: a duplicate of an existing job is answered even when full. */
  gate: () => Gate;
}

export function admit(store: JobStore, req: JobRequest, opts: AdmitOptions): Admission {
  const hash = bodyHash(req);
  const existing = store.byKey(req.jobKey);
  if (existing)
    return existing.bodyHash === hash
      ? { kind: "existing", jobId: existing.id }
      : { kind: "conflict", jobId: existing.id };
  const refused = opts.gate();
  if (refused) return { kind: "refused", reason: refused };
  const jobId = opts.newId();
  store.insert(jobId, req, hash, opts.now().toISOString());
  return { kind: "created", jobId };
}
