import {
  AUTO,
  DeliverSetting,
  ExecutorChoice,
  GitRef,
  MAX_PROMPT_CHARS,
  ProfileChoice,
  PromptText,
  RepoName,
  TaskId,
  TaskStatus,
  TERMINAL_TASK_STATUSES,
  Verbosity,
  VerifyCommand,
} from "@vault-mcp/contract";
import { and, desc, eq, gte, inArray, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { AppError } from "../../core/errors.ts";
import { newId, newTaskId } from "../../core/ids.ts";
import { type DecisionRow, decisions, type StageRow, stages, type TaskRow, tasks } from "../../schema/index.ts";
import { chainCost } from "../../workflows/breakers.ts";
import { promptOverflow } from "../../workflows/prompt.ts";
import { KindText, normalizeKind } from "../../workflows/task-kind.ts";
import { repoPlan } from "./repos.ts";

/** A new task's fields, as `workflow init`, `execute` and `POST /api/tasks` take them. */
export const TaskFields = z.strictObject({
  prompt: PromptText.describe(
    "What the coding agent should do, self-contained (up to 100,000 characters, with any spec and reviewer instructions).",
  ),
  repo: RepoName.describe(
    "A repo registered by URL (the repos tool lists them), or one placed on the executor VM by hand, e.g. 'demo'.",
  ),
  ref: GitRef.optional().describe("Branch, tag or commit to start from (default: the repo's HEAD)."),
  profile: ProfileChoice.optional().describe(
    "'auto' (the default): the chooser starts where this kind of task has been solved cheapest (the cheapest profile while it knows nothing), climbs the ladder when a run fails, and asks a human where climbing on would cost more per solved task than the task's cap. A profile name starts there and climbs without the chooser. With executor, 'auto' lets the run climb from that CLI's profile.",
  ),
  executor: ExecutorChoice.optional().describe(
    "Run this CLI once on its configured profile (claude, codex, gemini), or 'consensus' (two models side by side), instead of the ladder. No climb unless profile is 'auto'.",
  ),
  verbosity: Verbosity.default("mermaid").describe("How much of the result to return; 'mermaid' is a tiny diagram."),
  verify: VerifyCommand.optional().describe("Command run after the agent, as argv, e.g. ['npm','test']."),
  budgetUsd: z.number().positive().max(1000).optional().describe("Per-task halt cap in USD (default $5)."),
  kind: KindText,
  deliver: DeliverSetting.optional().describe(
    "What happens to the work once the task succeeds (default: the repo's setting): none (stays on the executor), push (branch vault/<taskId> on the repo's remote), pr (push and open a pull request). Needs a repo registered by URL.",
  ),
});
/** `executor` names what runs; a profile beside it may only be `auto` (climb from it). */
export const EXECUTOR_WITH_PROFILE = {
  message: "give executor or profile, not both (profile 'auto' beside executor lets a failed run climb the ladder)",
  path: ["profile"],
};
export const executorFitsProfile = (t: { executor?: string | undefined; profile?: string | undefined }) =>
  t.executor === undefined || t.profile === undefined || t.profile === AUTO;

export const TaskInit = TaskFields.refine(executorFitsProfile, EXECUTOR_WITH_PROFILE);
export type TaskInit = z.infer<typeof TaskInit>;

/** Who asked for a change, as recorded in `decisions.actor`; each surface has its own default. */
export const Actor = z.string().min(1).max(100).describe("Who is acting, for the decision log.");

/** `workflow spec` and `POST /api/tasks/:id/spec`. */
export const TaskSpec = z.strictObject({
  taskId: TaskId,
  spec: z
    .string()
    .min(1)
    .max(100_000)
    .describe("spec: the task's specification text, given to the agent with its prompt."),
});
export type TaskSpec = z.infer<typeof TaskSpec>;

/** `workflow close` and `POST /api/tasks/:id/close`. */
export const TaskClose = z.strictObject({
  taskId: TaskId,
  note: z.string().max(20_000).optional().describe("close: why it is closed."),
  actor: Actor.optional(),
  discard: z
    .boolean()
    .optional()
    .describe(
      "close: also throw the delivered work away: close its pull request and delete its branch vault/<taskId> (a plain close leaves both).",
    ),
});
export type TaskClose = z.infer<typeof TaskClose>;

/** A time window as text: `90m`, `24h`, `7d`. Advertised as is in tool schemas (no transform there). */
const SinceText = z.string().regex(/^\d{1,5}[mhd]$/, "since looks like 90m, 24h or 7d");
/** `24h`, `90m`, `7d` → milliseconds. */
export const Since = SinceText.transform(
  (s) => Number(s.slice(0, -1)) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[s.slice(-1) as "m" | "h" | "d"],
);

export const TaskFilter = z.strictObject({
  status: z.union([TaskStatus, z.array(TaskStatus)]).optional(),
  since: Since.optional(),
  profile: ProfileChoice.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type TaskFilter = z.infer<typeof TaskFilter>;

export interface NewTask extends TaskInit {
  /**
   * Whether a failed run climbs the ladder, when not derived from executor and profile (a replay
   * repeats its original's rule, or the one it is given).
   */
  climb?: boolean;
  /** A task this one replays: it joins that task's chain (one shared budget). */
  replayOf?: string;
  replayKey?: string;
  spec?: string;
  idempotencyKey?: string;
  requestHash?: string;
}

export async function createTask(db: D1Database, input: NewTask, now: number): Promise<TaskRow> {
  if (!executorFitsProfile(input)) throw new AppError("invalid_input", EXECUTOR_WITH_PROFILE.message);
  // A delivery the repo cannot take is refused now, not when the work is done.
  if (input.deliver) await repoPlan(db, input.repo, input.deliver);
  const d = drizzle(db);
  const [original] = input.replayOf
    ? await d.select({ id: tasks.id, root: tasks.replayRoot }).from(tasks).where(eq(tasks.id, input.replayOf))
    : [];
  // The chain's first task: the original's root, or the original itself.
  const replayRoot = input.replayOf ? (original?.root ?? original?.id ?? input.replayOf) : null;
  const row: typeof tasks.$inferInsert = {
    id: newTaskId(now),
    status: "init",
    // Stored normalised whoever calls (the input schemas normalise already; this is idempotent).
    kind: normalizeKind(input.kind),
    prompt: input.prompt,
    repo: input.repo,
    ref: input.ref ?? null,
    profile: input.profile ?? AUTO,
    executor: input.executor ?? null,
    // A direct run stays on its CLI unless the caller asked the ladder to take over (profile auto).
    climb: input.climb ?? (input.executor === undefined || input.profile === AUTO),
    verbosity: input.verbosity,
    verify: input.verify ?? null,
    budgetUsd: input.budgetUsd ?? null,
    spec: input.spec ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    requestHash: input.requestHash ?? null,
    replayOf: input.replayOf ?? null,
    replayRoot,
    replayKey: input.replayKey ?? null,
    deliver: input.deliver ?? null,
    createdAt: now,
    updatedAt: now,
  };
  const [created] = await d.insert(tasks).values(row).returning();
  if (!created) throw new AppError("internal", "task was not created");
  return created;
}

async function getTask(db: D1Database, id: string): Promise<TaskRow | null> {
  const [row] = await drizzle(db).select().from(tasks).where(eq(tasks.id, id)).limit(1);
  return row ?? null;
}

export async function requireTask(db: D1Database, id: string): Promise<TaskRow> {
  const row = await getTask(db, id);
  if (!row) throw new AppError("not_found", `no task '${id}'; list tasks with workflow_query or GET /api/tasks`);
  return row;
}

export async function listTasks(db: D1Database, filter: TaskFilter, now: number): Promise<TaskRow[]> {
  const where: SQL[] = [];
  if (filter.status !== undefined)
    where.push(inArray(tasks.status, Array.isArray(filter.status) ? filter.status : [filter.status]));
  if (filter.since !== undefined) where.push(gte(tasks.createdAt, now - filter.since));
  if (filter.profile !== undefined) where.push(eq(tasks.profile, filter.profile));
  return drizzle(db)
    .select()
    .from(tasks)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(tasks.createdAt))
    .limit(filter.limit);
}

export interface TaskDetail {
  task: TaskRow;
  stages: StageRow[];
  decisions: DecisionRow[];
}

export async function taskDetail(db: D1Database, id: string): Promise<TaskDetail> {
  const d = drizzle(db);
  const [taskRows, stageRows, decisionRows] = await d.batch([
    d.select().from(tasks).where(eq(tasks.id, id)).limit(1),
    d.select().from(stages).where(eq(stages.taskId, id)).orderBy(stages.attempt),
    d.select().from(decisions).where(eq(decisions.taskId, id)).orderBy(decisions.createdAt),
  ]);
  const task = taskRows[0];
  if (!task) throw new AppError("not_found", `no task '${id}'; list tasks with workflow_query or GET /api/tasks`);
  return { task, stages: stageRows, decisions: decisionRows };
}

export async function setSpec(db: D1Database, { taskId: id, spec }: TaskSpec, now: number): Promise<TaskRow> {
  const task = await requireTask(db, id);
  refuseOverflow(promptOverflow(task.prompt, spec, undefined), "the spec");
  const [row] = await drizzle(db).update(tasks).set({ spec, updatedAt: now }).where(eq(tasks.id, id)).returning();
  if (!row) throw new AppError("not_found", `no task '${id}'`);
  return row;
}

/**
 * Closes a finished task after review. The status update and its decision row go in one batch;
 * `data` goes on the decision (what a discard did).
 */
export async function closeTask(
  db: D1Database,
  { taskId: id, note, actor }: TaskClose & { actor: string },
  now: number,
  data: Record<string, unknown> | null = null,
): Promise<TaskRow> {
  const task = await requireTask(db, id);
  if (task.status === "closed") return task;
  if (!TERMINAL_TASK_STATUSES.includes(task.status)) {
    throw new AppError(
      "conflict",
      `task '${id}' is ${task.status}; close it once it has finished (succeeded, failed, halted, blocked or needs_human)`,
    );
  }
  const d = drizzle(db);
  const [updated] = await d.batch([
    d.update(tasks).set({ status: "closed", closedAt: now, updatedAt: now }).where(eq(tasks.id, id)).returning(),
    d.insert(decisions).values({
      id: newId("d", now),
      taskId: id,
      kind: "close",
      decision: "closed",
      rationale: note ?? null,
      actor,
      data,
      createdAt: now,
    }),
  ]);
  const row = updated[0];
  if (!row) throw new AppError("not_found", `no task '${id}'`);
  return row;
}

/** What a task and its replay chain have spent together (the cap applies to them as one); null if no task. */
export async function chainCostUsd(db: D1Database, taskId: string): Promise<number | null> {
  const [row] = await drizzle(db).select({ spent: chainCost() }).from(tasks).where(eq(tasks.id, taskId));
  return row?.spent ?? null;
}

/** The CLI gets prompt + spec + instructions as one text; refuse what would not fit, saying by how much. */
export function refuseOverflow(over: number, what: string): void {
  if (over > 0)
    throw new AppError(
      "invalid_input",
      `${what} makes the agent's prompt ${over} characters longer than the ${MAX_PROMPT_CHARS} the executor takes (prompt, spec and reviewer instructions together); shorten it`,
    );
}
