/**
 * Starts replays one task at a time through `POST /api/replay {taskId}` and follows each new task's
 * state until it ends, with at most `concurrency` replays running at once. Starting by id keeps the
 * server's replay key in charge of idempotency: if two runs race, or a run is repeated after a
 * crash, the second start of the same original is answered `skipped`.
 */
import { BreakersView, type ReplayItem, ReplayReport, TaskState, TERMINAL_TASK_STATUSES } from "@vault-mcp/contract";
import { money } from "./format.ts";
import { type Api, CliError } from "./http.ts";

export interface ReplayResult extends ReplayItem {
  /** The replay's final task status (succeeded, needs_human, …) once it ended. */
  outcome?: string;
  costUsd?: number;
  error?: string;
}

/** What each `POST /api/replay` of a run carries besides the task id (the plan's dry run too). */
export interface ReplayOptions {
  force: boolean;
  fromTier?: string;
  /** Terminate a still-waiting original instance first instead of skipping the task. */
  includeWaiting?: boolean;
  budgetUsd?: number;
}

export interface FollowOptions {
  options: ReplayOptions;
  concurrency: number;
  intervalMs: number;
  /** A line per state change; absent with --json. */
  progress?: ((line: string) => void) | undefined;
  sleep(ms: number): Promise<void>;
  /** Called with each new task id as it starts and again (with `done`) when it ends. */
  onTrack?: (taskId: string, done: boolean) => void;
}

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_TASK_STATUSES);
/** Polls that may fail in a row (a Worker reload, a blip) before a replay is reported as lost. */
const POLL_FAILURES_TOLERATED = 3;

export const isFailure = (r: ReplayResult): boolean =>
  r.status === "error" || (r.status === "started" && r.outcome !== "succeeded");

/**
 * Once a start fails, is it today's block? Then every later start would fail the same way: the rest
 * are reported as not started instead of being tried. (A replay item carries a reason, not the wire
 * error code, so the breaker state is asked for rather than the reason's text parsed.)
 */
async function dayBlock(api: Api): Promise<string | null> {
  const b = await api.get("/api/breakers", BreakersView).catch(() => null);
  return b?.blocked
    ? `today's spend ${money(b.day.spentUsd)} reached the ${money(b.day.limitUsd)} daily block; replay again after 00:00 UTC`
    : null;
}

export async function startAndFollow(
  api: Api,
  originals: readonly string[],
  o: FollowOptions,
): Promise<ReplayResult[]> {
  const results = new Map<string, ReplayResult>();
  const queue = [...originals];
  let stopped: string | null = null;
  const worker = async (): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      if (stopped) {
        results.set(id, { originalId: id, newTaskId: null, status: "error", reason: `not started: ${stopped}` });
        continue;
      }
      const r = await replayOne(api, id, o);
      results.set(id, r);
      if (r.status === "error" && !stopped) {
        stopped = await dayBlock(api);
        if (stopped) o.progress?.(`stopping: ${stopped}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, originals.length) }, worker));
  return originals.map((id) => results.get(id) as ReplayResult);
}

async function replayOne(api: Api, originalId: string, o: FollowOptions): Promise<ReplayResult> {
  let item: ReplayItem | undefined;
  try {
    const report = await api.post("/api/replay", { ...o.options, taskId: originalId }, ReplayReport);
    item = report.items[0];
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    o.progress?.(`${originalId}  could not start: ${err.message}`);
    return { originalId, newTaskId: null, status: "error", reason: err.message };
  }
  if (!item) return { originalId, newTaskId: null, status: "error", reason: "the Worker answered with no replay item" };
  if (item.status !== "started" || !item.newTaskId) {
    o.progress?.(`${originalId}  ${item.status}${item.reason ? `: ${item.reason}` : ""}`);
    return item;
  }
  const newId = item.newTaskId;
  o.onTrack?.(newId, false);
  o.progress?.(`${originalId} → ${newId}  started${o.options.fromTier ? ` from ${o.options.fromTier}` : ""}`);
  let last = "";
  let failures = 0;
  try {
    for (;;) {
      let state: TaskState;
      try {
        state = await api.get(`/api/tasks/${newId}/state`, TaskState);
        failures = 0;
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        failures += 1;
        if (failures > POLL_FAILURES_TOLERATED) {
          o.progress?.(`${newId}  lost track: ${err.message}`);
          return { ...item, error: `lost track of the replay: ${err.message}` };
        }
        await o.sleep(o.intervalMs);
        continue;
      }
      const line = `${state.status}${state.progressText ? `  ${state.progressText}` : ""}`;
      if (line !== last) o.progress?.(`${newId}  ${line}`);
      last = line;
      if (TERMINAL.has(state.status)) {
        return {
          ...item,
          outcome: state.status,
          costUsd: state.costUsd,
          ...(state.error ? { error: state.error } : {}),
        };
      }
      await o.sleep(o.intervalMs);
    }
  } finally {
    o.onTrack?.(newId, true);
  }
}
