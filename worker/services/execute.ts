/**
 * The Worker's side of `execute`: create the task row and its ExecuteWorkflow instance, then wait a
 * bounded time so a fast task answers in one tool call and a slow one answers `running` well before
 * Claude.ai's ~60 s cut. `getTaskState` answers later calls from D1 plus the instance status.
 */
import { type ExecuteOutcome, TaskId, type TaskState, TERMINAL_TASK_STATUSES } from "@vault-mcp/contract";
import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { type Config, getConfig } from "../../core/config.ts";
import { AppError, describe } from "../../core/errors.ts";
import { log } from "../../core/log.ts";
import { stages, type TaskRow, tasks } from "../../schema/index.ts";
import { readBreakers } from "../../workflows/breakers.ts";
import { ExecuteParams } from "../../workflows/params.ts";
import { attemptsMermaid, PROGRESS_ATTEMPTS, progressMermaid, progressOf } from "../../workflows/progress.ts";
import { INSTANCE_RETENTION } from "../../workflows/retention.ts";
import { admitStart, type Caller, checkStart, INTERNAL_CALLER } from "./admission.ts";
import { taskChange } from "./delivery.ts";
import { instanceStatus } from "./instances.ts";
import { type RepoPlan, repoPlan } from "./repos.ts";
import { createTask, EXECUTOR_WITH_PROFILE, executorFitsProfile, requireTask, TaskFields } from "./tasks.ts";
import { isUniqueViolation } from "./unique.ts";

/** Claude.ai cuts a tool call at ~60 s: `execute` answers `running` well before that. */
const MAX_WAIT_SECONDS = 45;
const DEFAULT_WAIT_SECONDS = 20;

/**
 * Input of the `execute` tool and `POST /api/execute`: a new task's fields (as `workflow init` takes
 * them, prompt and repo required unless taskId names an init'ed task), how long to wait, and an
 * idempotency key for callers that retry.
 */
export const ExecuteInput = TaskFields.partial({ prompt: true, repo: true })
  .extend({
    taskId: TaskId.optional().describe("Run a task created with `workflow init` instead of a new one."),
    idempotencyKey: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$/, "idempotencyKey is 1-128 of [A-Za-z0-9:._-]")
      .optional()
      .describe(
        "Makes a retried call safe: the same key returns the same task instead of starting (and paying for) another; the same key with another request is refused.",
      ),
    waitSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_WAIT_SECONDS)
      .default(DEFAULT_WAIT_SECONDS)
      .describe("How long to wait for the result before answering 'running'."),
  })
  .superRefine((i, ctx) => {
    if (i.taskId !== undefined) return;
    // Each missing field named on its own: "repo: required" tells the caller exactly what to add.
    if (i.prompt === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["prompt"],
        message: "required for a new task (or give the taskId of a task created with 'workflow init')",
      });
    if (i.repo === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["repo"],
        message:
          "required for a new task: a repo registered by URL (vault repos list) or one placed on the executor by hand, e.g. 'demo'",
      });
  })
  .refine(executorFitsProfile, EXECUTOR_WITH_PROFILE);
export type ExecuteInput = z.infer<typeof ExecuteInput>;

export interface StartOptions {
  waitSeconds: number;
  /** Whose start this is, for the per-caller rate (admission.ts); INTERNAL_CALLER when none. */
  caller?: Caller;
  onProgress?: (p: { message: string; progress: number; total?: number }) => Promise<void> | void;
}

/** What makes two execute calls "the same request" for an idempotency key: the task they describe. */
async function hashRequest(input: ExecuteInput): Promise<string> {
  const { waitSeconds: _w, idempotencyKey: _k, ...task } = input;
  const canonical = JSON.stringify(Object.entries(task).sort(([a], [b]) => a.localeCompare(b)));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The task an earlier call with this key started; 409 when that call asked for something else. */
async function sameRequest(db: D1Database, key: string, hash: string): Promise<string | null> {
  const [row] = await drizzle(db)
    .select({ id: tasks.id, hash: tasks.requestHash })
    .from(tasks)
    .where(eq(tasks.idempotencyKey, key));
  if (!row) return null;
  if (row.hash !== hash)
    throw new AppError(
      "conflict",
      `idempotencyKey '${key}' was already used for another request (task ${row.id}); use a new key for a new task`,
    );
  return row.id;
}

export async function startExecute(env: Env, input: ExecuteInput, opts: StartOptions): Promise<ExecuteOutcome> {
  const config = getConfig(env);
  const now = Date.now();
  // A retried call answers with the task the first one started, whatever the breakers say now.
  const requestHash = input.idempotencyKey ? await hashRequest(input) : undefined;
  if (input.idempotencyKey && requestHash) {
    const earlier = await sameRequest(env.DB, input.idempotencyKey, requestHash);
    if (earlier) return waitForOutcome(env, earlier, opts);
  }
  const breakers = await readBreakers(env.DB, config.breakers, now);
  if (breakers.blocked) {
    throw new AppError(
      "breaker_open",
      `today's spend $${breakers.day.spentUsd.toFixed(2)} reached the $${breakers.day.limitUsd} daily block; no new dispatch until 00:00 UTC`,
    );
  }

  const caller = opts.caller ?? INTERNAL_CALLER;
  await checkStart(env.DB, config, caller, now);

  let task: TaskRow;
  // Where the repo comes from and where its work goes, fixed now: the instance carries both.
  let plan: RepoPlan;
  if (input.taskId) {
    task = await requireTask(env.DB, input.taskId);
    if (task.status !== "init")
      throw new AppError(
        "conflict",
        `task '${task.id}' is ${task.status}; only a task created with 'workflow init' can be executed by id`,
      );
    plan = await repoPlan(env.DB, task.repo, task.deliver);
    if (task.deliver !== plan.deliver)
      await drizzle(env.DB).update(tasks).set({ deliver: plan.deliver }).where(eq(tasks.id, task.id));
  } else if (input.prompt === undefined || input.repo === undefined) {
    throw new AppError(
      "invalid_input",
      "give prompt and repo for a new task, or the taskId of a task created with 'workflow init'",
    );
  } else {
    plan = await repoPlan(env.DB, input.repo, input.deliver);
    try {
      task = await createTask(
        env.DB,
        {
          ...input,
          prompt: input.prompt,
          repo: input.repo,
          deliver: plan.deliver,
          ...(input.idempotencyKey && requestHash ? { idempotencyKey: input.idempotencyKey, requestHash } : {}),
        },
        now,
      );
    } catch (err) {
      // A concurrent call with the same key won the insert: answer as the retry it is.
      if (isUniqueViolation(err) && input.idempotencyKey && requestHash) {
        const earlier = await sameRequest(env.DB, input.idempotencyKey, requestHash);
        if (earlier) return waitForOutcome(env, earlier, opts);
      }
      throw err;
    }
  }

  // Validated here, at the boundary: the instance parses its params again and must never fail to.
  const parsed = ExecuteParams.safeParse({
    taskId: task.id,
    profile: task.profile,
    repo: task.repo,
    verbosity: task.verbosity,
    kind: task.kind,
    ...(task.ref ? { ref: task.ref } : {}),
    ...(task.verify ? { verify: task.verify } : {}),
    ...(task.budgetUsd ? { budgetUsd: task.budgetUsd } : {}),
    ...(task.replayOf ? { replayOf: task.replayOf } : {}),
    ...(task.executor ? { executor: task.executor } : {}),
    climb: task.climb,
    ...(plan.source ? { source: plan.source } : {}),
    ...(plan.delivery ? { delivery: plan.delivery } : {}),
  });
  if (!parsed.success)
    throw new AppError("internal", `task '${task.id}' cannot run: its stored fields are invalid`, {
      cause: parsed.error,
    });
  const params = parsed.data;
  await admitOrForget(env, config, caller, task, input.taskId === undefined, now);
  try {
    await env.EXECUTE_WORKFLOW.create({ id: task.id, params, retention: INSTANCE_RETENTION });
  } catch (err) {
    if (/already.exists/i.test(describe(err))) {
      throw new AppError(
        "conflict",
        `an instance for task '${task.id}' already exists; query it with workflow_query state`,
        { cause: err },
      );
    }
    // The row must not claim to run when no instance exists.
    await drizzle(env.DB)
      .update(tasks)
      .set({ status: "failed", error: "could not start the workflow instance", updatedAt: Date.now() })
      .where(eq(tasks.id, task.id));
    throw new AppError("internal", "could not start the workflow; retry", { cause: err });
  }
  log("info", "task_started", { taskId: task.id, profile: task.profile, repo: task.repo, replayOf: task.replayOf });
  return waitForOutcome(env, task.id, opts);
}

/** A refused start leaves nothing behind: the row this call created goes (an init'ed task stays init). */
async function admitOrForget(
  env: Env,
  config: Config,
  caller: Caller,
  task: TaskRow,
  createdHere: boolean,
  now: number,
): Promise<void> {
  try {
    await admitStart(env.DB, config, caller, task.id, now);
  } catch (err) {
    if (createdHere)
      await drizzle(env.DB)
        .delete(tasks)
        .where(and(eq(tasks.id, task.id), eq(tasks.status, "init")));
    throw err;
  }
}

/** Claude.ai cuts a tool call at ~60 s: never wait past MAX_WAIT_SECONDS, whatever the caller asks. */
export function clampWaitSeconds(waitSeconds: number): number {
  return Math.min(Math.max(Number.isFinite(waitSeconds) ? waitSeconds : DEFAULT_WAIT_SECONDS, 0), MAX_WAIT_SECONDS);
}

/**
 * Polling the task's row while `execute` waits: every 10 ms for the first second (a fast task answers
 * within a poll of finishing; each poll is one small D1 batch), then backing off to 250 ms. The
 * instance itself (an RPC to the engine) is asked at most once a second: it only matters if it died.
 */
const FAST_POLL_MS = 10;
const FAST_POLL_FOR_MS = 1_000;
const MAX_POLL_MS = 250;
const INSTANCE_CHECK_EVERY_MS = 1_000;

async function waitForOutcome(env: Env, taskId: string, opts: StartOptions): Promise<ExecuteOutcome> {
  const started = Date.now();
  const deadline = started + clampWaitSeconds(opts.waitSeconds) * 1000;
  let pollMs = FAST_POLL_MS;
  let lastMessage = "";
  let tick = 0;
  let instanceCheckedAt = started;
  for (;;) {
    const now = Date.now();
    const checkInstance = now - instanceCheckedAt >= INSTANCE_CHECK_EVERY_MS || now >= deadline;
    if (checkInstance) instanceCheckedAt = now;
    const state = await getTaskState(env, taskId, { checkInstance });
    if (state && state.status !== "running" && state.status !== "init") return state;
    const message = state?.progressText ?? "starting";
    if (opts.onProgress && message !== lastMessage) {
      lastMessage = message;
      await opts.onProgress({ message, progress: ++tick });
    }
    if (Date.now() >= deadline) {
      // The instance exists, so a row still at `init` is only waiting for its first steps.
      return state
        ? { ...state, status: "running" }
        : { taskId, status: "running", flags: [], costUsd: 0, progress: progressMermaid(taskId, "running", 0, null) };
    }
    await new Promise((r) => setTimeout(r, pollMs));
    if (Date.now() - started >= FAST_POLL_FOR_MS) pollMs = Math.min(MAX_POLL_MS, Math.ceil(pollMs * 1.5));
  }
}

/**
 * The task as `workflow_query state` shows it: the result and flags once finished, else `running`
 * with a progress diagram. Reads D1 (one batch); asks the instance only while the row says it runs.
 */
export async function getTaskState(
  env: Env,
  taskId: string,
  /** Ask the instance whether it died while the row says the task runs (default: yes). */
  o: { checkInstance: boolean } = { checkInstance: true },
): Promise<TaskState | null> {
  const d = drizzle(env.DB);
  const [[task], recent] = await d.batch([
    d.select().from(tasks).where(eq(tasks.id, taskId)).limit(1),
    d
      .select({ attempt: stages.attempt, profile: stages.profile, status: stages.status, note: stages.note })
      .from(stages)
      .where(eq(stages.taskId, taskId))
      .orderBy(desc(stages.attempt))
      .limit(PROGRESS_ATTEMPTS),
  ]);
  if (!task) return null;
  const outcome: TaskState = {
    taskId,
    status: task.status,
    flags: task.flags,
    costUsd: task.costUsd,
  };
  if (task.result) outcome.result = task.result;
  if (task.error) outcome.error = task.error;
  const change = taskChange(task);
  if (change) outcome.change = change;
  if (task.waitingFor) outcome.waitingFor = task.waitingFor;
  if (!TERMINAL_TASK_STATUSES.includes(task.status)) {
    // The row lags the instance only if the instance died and its last `fail` step could not write
    // either; surface that as failed, never as running forever.
    const status = o.checkInstance ? await instanceStatus(env, taskId) : null;
    if (status === "errored" || status === "terminated") {
      outcome.status = "failed";
      outcome.error =
        task.error ??
        `the workflow instance ${status}; see 'wrangler workflows instances describe execute-workflow ${taskId}'`;
      return outcome;
    }
    const done = recent.reverse();
    outcome.progressText = progressOf(done).text;
    outcome.progress = attemptsMermaid(taskId, task.status, done, Math.max(0, (done[0]?.attempt ?? 1) - 1));
  }
  return outcome;
}
