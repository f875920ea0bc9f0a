import { describe } from "../../core/errors.ts";

/** D1 refused an insert for a unique index or primary key (an idempotency, replay or start key taken). */
export function isUniqueViolation(err: unknown): boolean {
  return /UNIQUE constraint failed/i.test(describe(err));
}
