/**
 * Who may start a task now. Two limits guard every start (execute on MCP and REST, each task a
 * replay starts): a per-caller rate (EXECUTE_RATE_PER_MINUTE, the static bearer is one caller and
 * each OAuth client another) and a cap on active tasks (MAX_ACTIVE_TASKS: started, not finished,
 * not waiting for an answer), since each active task holds a workflow instance in memory and a
 * place in the executor's queue. A burst of 200 executes was all accepted (workerd 419 → 723 MiB).
 *
 * Counted in D1 (`task_starts`), not with the Workers rate-limiting binding: the binding's limit is
 * fixed in wrangler.toml's [[ratelimits]] block (no var can set it, and `wrangler dev --var` cannot
 * raise it for the end-to-end suites and the benchmark), it counts per Cloudflare location and
 * approximately, and the cap needs a D1 count anyway. One conditional INSERT checks both limits and
 * records the start, so concurrent calls cannot overshoot either.
 */
import { and, count, eq, gt, inArray, isNull, min, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Config } from "../../core/config.ts";
import { AppError } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { taskStarts, tasks } from "../../schema/index.ts";
import { bound, type Db, type InsertSelect } from "../../workflows/d1.ts";
import { isUniqueViolation } from "./unique.ts";

/** Who made the request, as the auth guard established it. */
export interface Caller {
  /** `bearer` (the static token) or `oauth:<client id>`: the key the rate counts under. */
  id: string;
}

export const BEARER_CALLER: Caller = { id: "bearer" };
/** Starts made by the Worker's own code paths without a request behind them (tests, tools). */
export const INTERNAL_CALLER: Caller = { id: "internal" };

const WINDOW_MS = 60_000;
/** A guess at when an active task will have finished: the answer to a full cap. */
const BUSY_RETRY_SECONDS = 30;

/** Started tasks that still run or wait for the executor (a task waiting for a human holds neither). */
function activeStarts(d: Db) {
  return d
    .select({ n: count() })
    .from(taskStarts)
    .innerJoin(tasks, eq(tasks.id, taskStarts.taskId))
    .where(and(inArray(tasks.status, ["init", "running"]), isNull(tasks.waitingFor)));
}

/** The caller's starts within the rate's window. */
function windowStarts(d: Db, caller: Caller, now: number) {
  return d
    .select({ n: count(), oldest: min(taskStarts.createdAt) })
    .from(taskStarts)
    .where(and(eq(taskStarts.caller, caller.id), gt(taskStarts.createdAt, now - WINDOW_MS)));
}

function rateLimited(config: Config, retryAfter: number): AppError {
  return new AppError(
    "rate_limited",
    `at most ${config.executeRatePerMinute} task starts a minute per caller (EXECUTE_RATE_PER_MINUTE); retry in ${retryAfter} s`,
    { headers: { "retry-after": String(retryAfter) } },
  );
}

function overloaded(config: Config): AppError {
  return new AppError(
    "overloaded",
    `${config.maxActiveTasks} tasks are already running or waiting for the executor (MAX_ACTIVE_TASKS); retry in about ${BUSY_RETRY_SECONDS} s, once one has finished`,
    { headers: { "retry-after": String(BUSY_RETRY_SECONDS) } },
  );
}

/** The limit a start would break now, or null: the caller's rate first, then the cap. */
async function refusal(db: D1Database, config: Config, caller: Caller, now: number): Promise<AppError | null> {
  const d = drizzle(db);
  const [[starts], [active]] = await d.batch([windowStarts(d, caller, now), activeStarts(d)]);
  if (starts && starts.n >= config.executeRatePerMinute && starts.oldest !== null) {
    // When the oldest start in the window leaves it, one more fits.
    return rateLimited(config, Math.max(1, Math.ceil((starts.oldest + WINDOW_MS - now) / 1000)));
  }
  if ((active?.n ?? 0) >= config.maxActiveTasks) return overloaded(config);
  return null;
}

/**
 * Refuses before anything is written when a limit is already reached, so a flood costs reads only.
 * The admission itself (below) checks again, atomically.
 */
export async function checkStart(db: D1Database, config: Config, caller: Caller, now: number): Promise<void> {
  const refused = await refusal(db, config, caller, now);
  if (!refused) return;
  log("warn", "start_refused", { caller: caller.id, code: refused.code });
  throw refused;
}

/**
 * Records the start of `taskId` by `caller` if both limits allow it, in one statement (D1 runs
 * statements one at a time, so of concurrent starts exactly the allowed number get in); else throws
 * `rate_limited` (429) or `overloaded` (503), each with Retry-After, and records nothing.
 */
export async function admitStart(
  db: D1Database,
  config: Config,
  caller: Caller,
  taskId: string,
  now: number,
): Promise<void> {
  const d = drizzle(db);
  // The task row exists (created before its start is admitted): the select reads it so the insert
  // has a row to select from, and only when both limits allow one more start.
  const row: InsertSelect<typeof taskStarts> = {
    taskId: bound(taskStarts.taskId, taskId),
    caller: bound(taskStarts.caller, caller.id),
    createdAt: bound(taskStarts.createdAt, now),
  };
  let changes: number;
  try {
    const inserted = await d.insert(taskStarts).select(
      d
        .select(row)
        .from(tasks)
        .where(
          and(
            eq(tasks.id, taskId),
            sql`(${d
              .select({ n: count() })
              .from(taskStarts)
              .where(
                and(eq(taskStarts.caller, caller.id), gt(taskStarts.createdAt, now - WINDOW_MS)),
              )}) < ${config.executeRatePerMinute}`,
            sql`(${activeStarts(d)}) < ${config.maxActiveTasks}`,
          ),
        ),
    );
    changes = inserted.meta.changes;
  } catch (err) {
    // Two calls starting the same init'ed task at once: the second finds the first's row.
    if (isUniqueViolation(err))
      throw new AppError("conflict", `task '${taskId}' was already started; query it with workflow_query state`, {
        cause: err,
      });
    throw err;
  }
  if (changes === 1) return;
  const refused = (await refusal(db, config, caller, now)) ?? overloaded(config);
  log("warn", "start_refused", { caller: caller.id, taskId, code: refused.code });
  throw refused;
}
