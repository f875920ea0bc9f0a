/**
 * The REST views of tasks (`GET /api/tasks`, `GET /api/tasks/:id`) as data the `vault` CLI renders
 * directly: how many attempts ran a model, the consensus files, the progress of a running task.
 * Nothing here is parsed back out of a Mermaid diagram.
 */
import {
  type ConsensusFiles,
  ConsensusReport,
  modelRan,
  type TaskDetail,
  type TaskList,
  TERMINAL_TASK_STATUSES,
} from "@vault-mcp/contract";
import { and, desc, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { log } from "../../core/log.ts";
import { stages, type TaskRow, transcripts } from "../../schema/index.ts";
import { progressOf } from "../../workflows/progress.ts";
import { taskChange } from "./delivery.ts";
import { listTasks, type TaskFilter, type TaskDetail as TaskRows, taskDetail } from "./tasks.ts";

/** Task ids per statement: D1 binds at most 100 parameters. */
const IDS_PER_QUERY = 90;

/** Per task, the attempts in which a model ran (`modelRan`, the one definition the CLI uses too). */
export async function modelRunCounts(db: D1Database, ids: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>(ids.map((id) => [id, 0]));
  if (ids.length === 0) return counts;
  const d = drizzle(db);
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) chunks.push(ids.slice(i, i + IDS_PER_QUERY));
  const query = (chunk: string[]) =>
    d
      .select({ taskId: stages.taskId, status: stages.status, errorKind: stages.errorKind })
      .from(stages)
      .where(inArray(stages.taskId, chunk));
  const [first, ...rest] = chunks.map(query);
  if (!first) return counts;
  const results = await d.batch([first, ...rest]);
  for (const rows of results)
    for (const s of rows) if (modelRan(s)) counts.set(s.taskId, (counts.get(s.taskId) ?? 0) + 1);
  return counts;
}

const withRuns = (t: TaskRow, runs: Map<string, number>) => ({ ...t, modelRuns: runs.get(t.id) ?? 0 });

/** `GET /api/tasks`: prompts cut to 200 characters. */
export async function taskListView(db: D1Database, filter: TaskFilter, now: number): Promise<TaskList> {
  const rows = await listTasks(db, filter, now);
  const runs = await modelRunCounts(
    db,
    rows.map((t) => t.id),
  );
  return { tasks: rows.map((t) => ({ ...withRuns(t, runs), prompt: t.prompt.slice(0, 200) })) };
}

/** The latest consensus report the workflow stored for the task, as data; null when it ran none. */
async function consensusFiles(db: D1Database, taskId: string): Promise<ConsensusFiles | null> {
  const [row] = await drizzle(db)
    .select({ content: transcripts.content, attempt: transcripts.attempt })
    .from(transcripts)
    .where(and(eq(transcripts.taskId, taskId), eq(transcripts.kind, "consensus")))
    .orderBy(desc(transcripts.createdAt))
    .limit(1);
  if (!row) return null;
  let json: unknown;
  try {
    json = JSON.parse(row.content);
  } catch (err) {
    log("warn", "consensus_report_unreadable", { taskId, error: String(err) });
    return null;
  }
  const parsed = ConsensusReport.safeParse(json);
  if (!parsed.success) {
    // Written by this Worker from a validated job result: a failure here is a bug or a cut transcript.
    log("warn", "consensus_report_unreadable", { taskId, error: parsed.error.message.slice(0, 500) });
    return null;
  }
  const r = parsed.data;
  return {
    attempt: row.attempt ?? 0,
    verdict: r.verdict,
    profiles: r.profiles,
    answerSimilarity: r.answerSimilarity,
    fileAgreement: r.fileAgreement,
    filesOnlyA: r.filesOnlyA,
    filesOnlyB: r.filesOnlyB,
    verify: r.verify,
  };
}

/** `GET /api/tasks/:id` without the breaker flags (the route adds them). */
export async function taskDetailView(db: D1Database, id: string): Promise<Omit<TaskDetail, "breakers">> {
  const d: TaskRows = await taskDetail(db, id);
  const running = !TERMINAL_TASK_STATUSES.includes(d.task.status);
  const written = d.stages.filter((s) => s.status !== "running");
  return {
    task: { ...d.task, modelRuns: d.stages.filter(modelRan).length },
    stages: d.stages,
    decisions: d.decisions,
    consensus: await consensusFiles(db, id),
    progress: running ? progressOf(written, d.stages) : null,
    change: taskChange(d.task) ?? null,
  };
}
