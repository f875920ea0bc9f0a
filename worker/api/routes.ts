/**
 * REST under /api: the same operations as the MCP tools, for scripts, replays and the ops CLI.
 * Every route is a thin adapter over worker/services.
 */
import {
  type Acknowledged,
  type BreakersView,
  type BreakerVerification,
  type CooldownCleared,
  type CooldownList,
  type DecisionSent,
  type ExecuteOutcome,
  type ExecutorList,
  type ExecutorStateChange,
  type HealthView,
  ProfileName,
  type ReconcileReport,
  type ReplayReport,
  type RepoList,
  type RepoRemoved,
  type RepoSaved,
  type TaskDelivered,
  type TaskDetail,
  type TaskDiffPage,
  type TaskList,
  type TaskState,
  type TaskView,
} from "@vault-mcp/contract";
import type { z } from "zod";
import type { Config } from "../../core/config.ts";
import { AppError, parseInput } from "../../core/errors.ts";
import { readBreakers } from "../../workflows/breakers.ts";
import { HumanEvent } from "../../workflows/params.ts";
import { readJson } from "../http.ts";
import type { Caller } from "../services/admission.ts";
import { verifyBreakers } from "../services/breaker-verify.ts";
import { ackMonthFlag, BreakerAck, BreakerRaise, breakersView } from "../services/breakers.ts";
import { consensusReport } from "../services/consensus.ts";
import { clearCooldown, listCooldowns } from "../services/cooldowns.ts";
import { closeWithDiscard, redeliver, TaskDeliver } from "../services/delivery.ts";
import { TaskDiffQuery, taskDiff } from "../services/diff.ts";
import { decide, raiseBudget } from "../services/events.ts";
import { ExecuteInput, getTaskState, startExecute } from "../services/execute.ts";
import { drainExecutor, ExecutorTarget, forgetExecutor, listExecutors, resumeExecutor } from "../services/executors.ts";
import { health } from "../services/health.ts";
import { KvKey, KvList, KvPut, kvDelete, kvGet, kvList, kvPut } from "../services/kv.ts";
import { ReconcileInput, reconcile } from "../services/reconcile.ts";
import {
  CheckpointCreate,
  createCheckpoint,
  createDecision,
  createTranscript,
  DecisionCreate,
  getRecord,
  ListQuery,
  listCheckpoints,
  listDecisions,
  listTranscripts,
  TranscriptCreate,
  WriteUp,
  writeUp,
} from "../services/records.ts";
import { ReplayInput, replay } from "../services/replay.ts";
import { listRepos, RepoInput, RepoNameInput, removeRepo, saveRepo } from "../services/repos.ts";
import { ChooserQuery, chooserView, listModelStats, StatsQuery } from "../services/stats.ts";
import { taskDetailView, taskListView } from "../services/task-view.ts";
import { createTask, setSpec, TaskClose, TaskFilter, TaskInit, TaskSpec } from "../services/tasks.ts";

export interface ApiContext {
  request: Request;
  env: Env;
  config: Config;
  ctx: ExecutionContext;
  /** Who is calling: task starts are limited per caller (services/admission.ts). */
  caller: Caller;
  params: Record<string, string>;
  query: URLSearchParams;
  now: number;
}

type Handler = (c: ApiContext) => Promise<unknown>;
interface Route {
  method: string;
  pattern: URLPattern;
  handler: Handler;
  status?: number;
}

const body = (c: ApiContext) => readJson(c.request, c.config.maxBodyBytes);
const param = (c: ApiContext, name: string): string => c.params[name] ?? "";

/**
 * A body validated with the same schema as the matching MCP action: the path's ids are merged in
 * (and win over the body's), so one schema checks both surfaces.
 */
async function input<S extends z.ZodType>(schema: S, c: ApiContext, fromPath: Record<string, string> = {}) {
  const raw = await body(c);
  const merged = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? { ...raw, ...fromPath } : raw;
  return parseInput(schema, merged);
}

/** A path segment as text; a malformed %-escape is the caller's mistake (400), not a crash. */
function decoded(c: ApiContext, name: string): string {
  try {
    return decodeURIComponent(param(c, name));
  } catch {
    throw new AppError("invalid_input", `the ${name} in the path is not valid %-encoding`);
  }
}

/** At most this many values of one query key: every value becomes a bound SQL parameter. */
const MAX_QUERY_VALUES = 20;

/** Query strings as an object; repeated keys (status=a&status=b) and commas become de-duplicated arrays. */
/** `?kind=` as given: a kind is free text (commas included), normalised by the schema. */
const kindQuery = (q: URLSearchParams) => ({ kind: q.get("kind") ?? undefined });

function queryObject(q: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(q.keys())) {
    const all = [...new Set(q.getAll(key).flatMap((v) => v.split(",")))];
    if (all.length > MAX_QUERY_VALUES)
      throw new AppError("invalid_input", `give at most ${MAX_QUERY_VALUES} values for '${key}'`);
    out[key] = all.length === 1 ? (all[0] as string) : all;
  }
  return out;
}

const routes: Route[] = [];
function on(method: string, path: string, handler: Handler, status?: number): void {
  routes.push({ method, pattern: new URLPattern({ pathname: `/api${path}` }), handler, ...(status ? { status } : {}) });
}

on("GET", "/health", (c): Promise<HealthView> => health(c.env, c.config, c.now));

on("POST", "/execute", async (c): Promise<ExecuteOutcome> => {
  const exec = await input(ExecuteInput, c);
  return startExecute(c.env, exec, { waitSeconds: exec.waitSeconds, caller: c.caller });
});

on(
  "GET",
  "/tasks",
  (c): Promise<TaskList> => taskListView(c.env.DB, parseInput(TaskFilter, queryObject(c.query)), c.now),
);
on("POST", "/tasks", async (c): Promise<TaskView> => createTask(c.env.DB, await input(TaskInit, c), c.now), 201);
on("GET", "/tasks/:id", async (c): Promise<TaskDetail> => {
  const d = await taskDetailView(c.env.DB, param(c, "id"));
  const breakers = await readBreakers(c.env.DB, c.config.breakers, c.now);
  return { ...d, breakers: { dayBlocked: breakers.blocked, monthFlagged: breakers.flagged } };
});
on("GET", "/tasks/:id/state", async (c): Promise<TaskState> => {
  const s = await getTaskState(c.env, param(c, "id"));
  if (!s) throw new AppError("not_found", `no task '${param(c, "id")}'`);
  return s;
});
on("GET", "/tasks/:id/consensus", (c) => consensusReport(c.env.DB, param(c, "id")));
on(
  "POST",
  "/tasks/:id/spec",
  async (c): Promise<TaskView> => setSpec(c.env.DB, await input(TaskSpec, c, { taskId: param(c, "id") }), c.now),
);
on(
  "POST",
  "/tasks/:id/write",
  async (c) => writeUp(c.env.DB, await input(WriteUp, c, { taskId: param(c, "id") }), c.now),
  201,
);
on("POST", "/tasks/:id/close", async (c): Promise<TaskView> => {
  const close = await input(TaskClose, c, { taskId: param(c, "id") });
  return closeWithDiscard(c.env, c.config, { ...close, actor: close.actor ?? "api" }, c.now);
});
on(
  "POST",
  "/tasks/:id/deliver",
  async (c): Promise<TaskDelivered> =>
    redeliver(c.env, c.config, await input(TaskDeliver, c, { taskId: param(c, "id") }), c.now),
);
on(
  "GET",
  "/tasks/:id/diff",
  (c): Promise<TaskDiffPage> =>
    taskDiff(c.env, c.config, parseInput(TaskDiffQuery, { ...queryObject(c.query), taskId: param(c, "id") })),
);
on(
  "POST",
  "/tasks/:id/decide",
  async (c): Promise<DecisionSent> => decide(c.env, param(c, "id"), await input(HumanEvent, c), c.now),
  202,
);
on(
  "POST",
  "/tasks/:id/budget",
  async (c): Promise<DecisionSent> => {
    const { taskId, ...raise } = await input(BreakerRaise, c, { taskId: param(c, "id") });
    return raiseBudget(c.env, taskId, raise, c.now);
  },
  202,
);

on("GET", "/repos", (c): Promise<RepoList> => listRepos(c.env.DB));
on("POST", "/repos", async (c): Promise<RepoSaved> => saveRepo(c.env.DB, await input(RepoInput, c), c.now));
on(
  "DELETE",
  "/repos/:name",
  (c): Promise<RepoRemoved> => removeRepo(c.env.DB, parseInput(RepoNameInput, { name: decoded(c, "name") }).name),
);

on("GET", "/kv", (c) => kvList(c.env.TASKS, parseInput(KvList, queryObject(c.query))));
on("GET", "/kv/:key+", (c) => kvGet(c.env.TASKS, parseInput(KvKey, decoded(c, "key"))));
on("PUT", "/kv/:key+", async (c) => kvPut(c.env.TASKS, await input(KvPut, c, { key: decoded(c, "key") })));
on("DELETE", "/kv/:key+", (c) => kvDelete(c.env.TASKS, parseInput(KvKey, decoded(c, "key"))));

on("GET", "/checkpoints", (c) =>
  listCheckpoints(c.env.DB, parseInput(ListQuery, queryObject(c.query))).then((items) => ({ items })),
);
on("POST", "/checkpoints", async (c) => createCheckpoint(c.env.DB, await input(CheckpointCreate, c), c.now), 201);
on("GET", "/checkpoints/:id", (c) => getRecord(c.env.DB, "checkpoint", param(c, "id")));
on("GET", "/decisions", (c) =>
  listDecisions(c.env.DB, parseInput(ListQuery, queryObject(c.query))).then((items) => ({ items })),
);
on("POST", "/decisions", async (c) => createDecision(c.env.DB, await input(DecisionCreate, c), c.now), 201);
on("GET", "/decisions/:id", (c) => getRecord(c.env.DB, "decision", param(c, "id")));
on("GET", "/transcripts", (c) =>
  listTranscripts(c.env.DB, parseInput(ListQuery, queryObject(c.query))).then((items) => ({ items })),
);
on("POST", "/transcripts", async (c) => createTranscript(c.env.DB, await input(TranscriptCreate, c), c.now), 201);
on("GET", "/transcripts/:id", (c) => getRecord(c.env.DB, "transcript", param(c, "id")));

on("GET", "/breakers", (c): Promise<BreakersView> => breakersView(c.env.DB, c.config, c.now));
on("POST", "/breakers/ack", async (c): Promise<Acknowledged> => {
  const ack = await input(BreakerAck, c);
  return ackMonthFlag(c.env.DB, c.config, { ...ack, actor: ack.actor ?? "api" }, c.now);
});
on("GET", "/stats", (c) =>
  listModelStats(c.env.DB, parseInput(StatsQuery, kindQuery(c.query)).kind).then((stats) => ({ stats })),
);
on("GET", "/chooser", (c) => chooserView(c.env.DB, parseInput(ChooserQuery, kindQuery(c.query)).kind, c.config, c.now));
on("POST", "/replay", async (c): Promise<ReplayReport> => replay(c.env, await input(ReplayInput, c), c.now, c.caller));
on(
  "POST",
  "/reconcile",
  async (c): Promise<ReconcileReport> => reconcile(c.env, c.config, await input(ReconcileInput, c), c.now),
);
on("GET", "/cooldowns", (c): Promise<CooldownList> => listCooldowns(c.env.DB, c.now));
on(
  "DELETE",
  "/cooldowns/:profile",
  (c): Promise<CooldownCleared> => clearCooldown(c.env.DB, parseInput(ProfileName, param(c, "profile")), c.now),
);
on("GET", "/breakers/verify", (c): Promise<BreakerVerification> => verifyBreakers(c.env.DB, c.now));

on("GET", "/executors", (c): Promise<ExecutorList> => listExecutors(c.env.DB, c.config, c.now));
on(
  "POST",
  "/executors/:id/drain",
  async (c): Promise<ExecutorStateChange> =>
    drainExecutor(c.env.DB, await input(ExecutorTarget, c, { id: decoded(c, "id") }), c.now),
);
on(
  "POST",
  "/executors/:id/resume",
  async (c): Promise<ExecutorStateChange> =>
    resumeExecutor(c.env.DB, await input(ExecutorTarget, c, { id: decoded(c, "id") }), c.now),
);
on("DELETE", "/executors/:id", (c) =>
  forgetExecutor(c.env.DB, c.config, parseInput(ExecutorTarget, { id: decoded(c, "id") }), c.now),
);

export async function handleApi(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  config: Config,
  caller: Caller,
): Promise<Response> {
  const url = new URL(request.url);
  let pathMatched = false;
  for (const route of routes) {
    const m = route.pattern.exec({ pathname: url.pathname });
    if (!m) continue;
    pathMatched = true;
    if (route.method !== request.method) continue;
    const params = Object.fromEntries(
      Object.entries(m.pathname.groups).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
    const result = await route.handler({
      request,
      env,
      config,
      ctx,
      caller,
      params,
      query: url.searchParams,
      now: Date.now(),
    });
    return Response.json(result, { status: route.status ?? 200 });
  }
  if (pathMatched)
    throw new AppError("method_not_allowed", `${request.method} is not allowed on ${url.pathname}; see docs/API.md`);
  throw new AppError("not_found", `no route ${request.method} ${url.pathname}; see docs/API.md`);
}
