/**
 * REST under /api: the same operations as the MCP tools, for scripts, replays and the ops CLI.
 * Every route is a thin adapter over worker/services.
 */
import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { AppError, parseInput } from "../../core/errors.ts";
import { readBreakers } from "../../workflows/breakers.ts";
import { BudgetEvent, HumanEvent } from "../../workflows/params.ts";
import { readJson } from "../http.ts";
import { ackMonthFlag } from "../services/breakers.ts";
import { consensusReport } from "../services/consensus.ts";
import { decide, raiseBudget } from "../services/events.ts";
import { ExecuteInput, getTaskState, startExecute } from "../services/execute.ts";
import { health } from "../services/health.ts";
import { KvKey, KvList, KvPut, kvDelete, kvGet, kvList, kvPut } from "../services/kv.ts";
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
import { replay } from "../services/replay.ts";
import { listModelStats, recommendProfile } from "../services/stats.ts";
import { closeTask, createTask, listTasks, setSpec, TaskFilter, TaskInit, taskDetail } from "../services/tasks.ts";

export interface ApiContext {
  request: Request;
  env: Env;
  config: Config;
  ctx: ExecutionContext;
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
/** Query strings as an object; repeated keys (status=a&status=b) become arrays. */
function queryObject(q: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(q.keys())) {
    const all = q.getAll(key).flatMap((v) => v.split(","));
    out[key] = all.length === 1 ? (all[0] as string) : all;
  }
  return out;
}

const routes: Route[] = [];
function on(method: string, path: string, handler: Handler, status?: number): void {
  routes.push({ method, pattern: new URLPattern({ pathname: `/api${path}` }), handler, ...(status ? { status } : {}) });
}

on("GET", "/health", (c) => health(c.env, c.config, c.now));

on("POST", "/execute", async (c) => {
  const input = parseInput(ExecuteInput, await body(c));
  return startExecute(c.env, input, { waitSeconds: input.waitSeconds });
});

on("GET", "/tasks", (c) =>
  listTasks(c.env.DB, parseInput(TaskFilter, queryObject(c.query)), c.now).then((tasks) => ({
    tasks: tasks.map(({ prompt, ...t }) => ({ ...t, prompt: prompt.slice(0, 200) })),
  })),
);
on("POST", "/tasks", async (c) => createTask(c.env.DB, parseInput(TaskInit, await body(c)), c.now), 201);
on("GET", "/tasks/:id", async (c) => {
  const d = await taskDetail(c.env.DB, param(c, "id"));
  const breakers = await readBreakers(c.env.DB, c.config.breakers, c.now);
  return { ...d, breakers: { dayBlocked: breakers.blocked, monthFlagged: breakers.flagged } };
});
on("GET", "/tasks/:id/state", async (c) => {
  const s = await getTaskState(c.env, param(c, "id"));
  if (!s) throw new AppError("not_found", `no task '${param(c, "id")}'`);
  return s;
});
on("GET", "/tasks/:id/consensus", (c) => consensusReport(c.env.DB, param(c, "id")));
on("POST", "/tasks/:id/spec", async (c) =>
  setSpec(
    c.env.DB,
    param(c, "id"),
    parseInput(z.strictObject({ spec: z.string().min(1).max(100_000) }), await body(c)).spec,
    c.now,
  ),
);
on(
  "POST",
  "/tasks/:id/write",
  async (c) => writeUp(c.env.DB, param(c, "id"), parseInput(WriteUp, await body(c)), c.now),
  201,
);
on("POST", "/tasks/:id/close", async (c) => {
  const b = parseInput(
    z.strictObject({ note: z.string().max(20_000).optional(), actor: z.string().max(100).default("api") }),
    await body(c),
  );
  return closeTask(c.env.DB, param(c, "id"), b.note, b.actor, c.now);
});
on(
  "POST",
  "/tasks/:id/decide",
  async (c) => decide(c.env, param(c, "id"), parseInput(HumanEvent, await body(c)), c.now),
  202,
);
on(
  "POST",
  "/tasks/:id/budget",
  async (c) => raiseBudget(c.env, param(c, "id"), parseInput(BudgetEvent, await body(c)), c.now),
  202,
);

on("GET", "/kv", (c) => kvList(c.env.TASKS, parseInput(KvList, queryObject(c.query))));
on("GET", "/kv/:key+", (c) => kvGet(c.env.TASKS, parseInput(KvKey, decodeURIComponent(param(c, "key")))));
on("PUT", "/kv/:key+", async (c) => {
  const b = parseInput(z.strictObject({ value: z.string(), ttlSeconds: z.number().int().optional() }), await body(c));
  return kvPut(c.env.TASKS, parseInput(KvPut, { key: decodeURIComponent(param(c, "key")), ...b }));
});
on("DELETE", "/kv/:key+", (c) => kvDelete(c.env.TASKS, parseInput(KvKey, decodeURIComponent(param(c, "key")))));

on("GET", "/checkpoints", (c) =>
  listCheckpoints(c.env.DB, parseInput(ListQuery, queryObject(c.query))).then((items) => ({ items })),
);
on(
  "POST",
  "/checkpoints",
  async (c) => createCheckpoint(c.env.DB, parseInput(CheckpointCreate, await body(c)), c.now),
  201,
);
on("GET", "/checkpoints/:id", (c) => getRecord(c.env.DB, "checkpoint", param(c, "id")));
on("GET", "/decisions", (c) =>
  listDecisions(c.env.DB, parseInput(ListQuery, queryObject(c.query))).then((items) => ({ items })),
);
on("POST", "/decisions", async (c) => createDecision(c.env.DB, parseInput(DecisionCreate, await body(c)), c.now), 201);
on("GET", "/decisions/:id", (c) => getRecord(c.env.DB, "decision", param(c, "id")));
on("GET", "/transcripts", (c) =>
  listTranscripts(c.env.DB, parseInput(ListQuery, queryObject(c.query))).then((items) => ({ items })),
);
on(
  "POST",
  "/transcripts",
  async (c) => createTranscript(c.env.DB, parseInput(TranscriptCreate, await body(c)), c.now),
  201,
);
on("GET", "/transcripts/:id", (c) => getRecord(c.env.DB, "transcript", param(c, "id")));

on("GET", "/breakers", async (c) => ({
  ...(await readBreakers(c.env.DB, c.config.breakers, c.now)),
  thresholds: c.config.breakers,
}));
on("POST", "/breakers/ack", async (c) => {
  const b = parseInput(
    z.strictObject({ note: z.string().max(2000).optional(), actor: z.string().max(100).default("api") }),
    await body(c),
  );
  return ackMonthFlag(c.env.DB, c.config, b.note, b.actor, c.now);
});
on("GET", "/stats", (c) => listModelStats(c.env.DB, c.query.get("kind") ?? undefined).then((stats) => ({ stats })));
on("GET", "/chooser", (c) => recommendProfile(c.env.DB, c.query.get("kind") ?? "general", c.config.ladder));
on("POST", "/replay", async (c) => replay(c.env, await body(c), c.now));

export async function handleApi(request: Request, env: Env, ctx: ExecutionContext, config: Config): Promise<Response> {
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
    const result = await route.handler({ request, env, config, ctx, params, query: url.searchParams, now: Date.now() });
    return Response.json(result, { status: route.status ?? 200 });
  }
  if (pathMatched)
    throw new AppError("method_not_allowed", `${request.method} is not allowed on ${url.pathname}; see docs/API.md`);
  throw new AppError("not_found", `no route ${request.method} ${url.pathname}; see docs/API.md`);
}
