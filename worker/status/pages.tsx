/**
 * The status pages behind the session: each GET reads through worker/status/queries and renders a
 * view; each POST calls the same service as the MCP tool and REST route of that action, then sends
 * the browser on (303) or shows the page again with why the service refused.
 */
import type { Config } from "../../core/config.ts";
import { AppError, parseInput } from "../../core/errors.ts";
import { ackMonthFlag } from "../services/breakers.ts";
import { redeliver } from "../services/delivery.ts";
import { decide, raiseBudget } from "../services/events.ts";
import { drainExecutor, ExecutorTarget } from "../services/executors.ts";
import { replay } from "../services/replay.ts";
import { ackInput, budgetInput, decideInput, deliverInput, replayInput } from "./forms.ts";
import { listFilter } from "./list-query.ts";
import type { DiffSection, TaskPageView } from "./model.ts";
import { diffAt, diffSection, readDiff } from "./queries/diff.ts";
import { readExecutors } from "./queries/executors.ts";
import { readSpend } from "./queries/spend.ts";
import { filterChoices, listTaskPage } from "./queries/task-list.ts";
import { instanceStatus, readTaskPage } from "./queries/task-page.ts";
import { DIAGRAM_CSP, fragmentResponse, htmlResponse, seeOther } from "./respond.ts";
import type { Session } from "./session.ts";
import { DiagramFrame } from "./views/diagram.tsx";
import { ExecutorsPage } from "./views/executors.tsx";
import { SpendPage } from "./views/spend.tsx";
import { Live, TaskPage } from "./views/task.tsx";
import { DiffPageView } from "./views/task-delivery.tsx";
import { TasksPage } from "./views/tasks.tsx";

export interface PageContext {
  request: Request;
  env: Env;
  ctx: ExecutionContext;
  config: Config;
  session: Session;
  url: URL;
  /** The path without a trailing slash. */
  path: string;
  now: number;
}

/**
 * Runs the page's D1 reads and says how long they took, as a Server-Timing header (`db;dur=…`): the
 * browser's devtools show it, and bench/status-page.bench.ts reads it. workerd's clock moves on I/O,
 * so the figure is the reads' wall time.
 */
async function timed<T>(reads: () => Promise<T>): Promise<[T, Record<string, string>]> {
  const t0 = performance.now();
  const value = await reads();
  return [value, { "server-timing": `db;dur=${(performance.now() - t0).toFixed(1)}` }];
}

const EXECUTOR_DRAIN = /^\/status\/executors\/([A-Za-z0-9._-]{1,63})\/drain$/;
const TASK = /^\/status\/tasks\/(t-[0-9a-z-]{1,40})(?:\/(live|diagram|diff|decide|budget|replay|deliver))?$/;

/** What a successful action says on the page it lands on (fixed texts: nothing is reflected). */
const DONE: Readonly<Record<string, string>> = {
  decided: "Your decision was sent; the workflow goes on.",
  raised: "The cap was raised; the task goes on.",
  replayed: "Replay started: this is the new task.",
  delivered: "Delivered: the change is on its branch on the remote (and in its pull request).",
  acked: "This month's flag is acknowledged.",
  drained: "Draining: no new job goes to that executor; its running jobs finish.",
};
const doneNotice = (url: URL) => {
  const text = DONE[url.searchParams.get("done") ?? ""];
  return text ? { kind: "ok" as const, text } : null;
};

/**
 * The first page of the change's diff, read from the executor once the task has a change and has
 * stopped running: the live fragment, polled every second, never asks the executor for it.
 */
function diffOf(c: PageContext, view: TaskPageView): Promise<DiffSection> | null {
  return view.delivery?.commit && !view.live ? diffSection(c.env, c.config, view.id) : null;
}

async function taskResponse(
  c: PageContext,
  id: string,
  part: "page" | "live",
  notice: { kind: "ok" | "error"; text: string } | null,
  status = 200,
): Promise<Response> {
  const [view, timing] = await timed(() => readTaskPage(c.env.DB, c.config, id, c.now));
  if (!view) throw new AppError("not_found", `no task '${id}'; find it in the list at /status`);
  // A finished task's instance has finished too (its outcome is the task's status): asked only while it matters.
  const t0 = performance.now();
  const [instance, diff] = await Promise.all([
    view.live || view.waitingFor ? instanceStatus(c.env, id) : null,
    diffOf(c, view),
  ]);
  // The executor's part of the answer (the diff's first page, the instance's status), beside db.
  const headers = { "server-timing": `${timing["server-timing"]}, exec;dur=${(performance.now() - t0).toFixed(1)}` };
  const props = { view, session: c.session, instance, now: c.now, diff };
  if (part === "live") return fragmentResponse(<Live {...props} />, headers);
  return htmlResponse(<TaskPage {...props} notice={notice} />, { status, headers });
}

export async function showPage(c: PageContext): Promise<Response> {
  const { env, config, path, url, now, session } = c;
  if (path === "/status") {
    const filter = listFilter(url.searchParams);
    const [[page, choices], timing] = await timed(() =>
      Promise.all([listTaskPage(env.DB, filter), filterChoices(env.DB)]),
    );
    return htmlResponse(
      <TasksPage session={session} filter={filter} page={page} {...choices} now={now} notice={null} />,
      { headers: timing },
    );
  }
  if (path === "/status/spend")
    return htmlResponse(
      <SpendPage session={session} spend={await readSpend(env.DB, config, now)} notice={doneNotice(url)} />,
    );
  if (path === "/status/executors")
    return htmlResponse(
      <ExecutorsPage
        session={session}
        executors={await readExecutors(env, config, now)}
        now={now}
        notice={doneNotice(url)}
      />,
    );
  const m = TASK.exec(path);
  if (m?.[1] && (m[2] === undefined || m[2] === "live"))
    return taskResponse(c, m[1], m[2] ? "live" : "page", doneNotice(url));
  if (m?.[1] && m[2] === "diff") {
    const page = await readDiff(env, config, m[1], diffAt(url.searchParams));
    return htmlResponse(<DiffPageView taskId={m[1]} page={page} session={session} />);
  }
  if (m?.[1] && m[2] === "diagram") {
    const view = await readTaskPage(env.DB, config, m[1], now);
    if (!view?.diagram) throw new AppError("not_found", `task '${m[1]}' has no diagram`);
    return htmlResponse(<DiagramFrame source={view.diagram} />, { csp: DIAGRAM_CSP });
  }
  throw new AppError("not_found", `no status page at ${path}; start at /status`);
}

export async function postAction(c: PageContext, form: URLSearchParams): Promise<Response> {
  const { env, config, path, now } = c;
  if (path === "/status/spend/ack") {
    try {
      await ackMonthFlag(env.DB, config, ackInput(form), now);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return htmlResponse(
        <SpendPage
          session={c.session}
          spend={await readSpend(env.DB, config, now)}
          notice={{ kind: "error", text: err.message }}
        />,
        { status: err.status },
      );
    }
    return seeOther("/status/spend?done=acked");
  }
  const drain = EXECUTOR_DRAIN.exec(path);
  if (drain?.[1]) {
    try {
      await drainExecutor(env.DB, parseInput(ExecutorTarget, { id: decodeURIComponent(drain[1]) }), now);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return htmlResponse(
        <ExecutorsPage
          session={c.session}
          executors={await readExecutors(env, config, now)}
          now={now}
          notice={{ kind: "error", text: err.message }}
        />,
        { status: err.status },
      );
    }
    return seeOther("/status/executors?done=drained");
  }
  const m = TASK.exec(path);
  const id = m?.[1];
  const action = m?.[2];
  if (!id || (action !== "decide" && action !== "budget" && action !== "replay" && action !== "deliver"))
    throw new AppError("not_found", `nothing to post to at ${path}`);
  try {
    if (action === "decide") {
      await decide(env, id, decideInput(form), now);
      return seeOther(`/status/tasks/${id}?done=decided`);
    }
    if (action === "budget") {
      await raiseBudget(env, id, budgetInput(form), now);
      return seeOther(`/status/tasks/${id}?done=raised`);
    }
    if (action === "deliver") {
      // Synchronous like `vault deliver`: the executor pushes (and opens the PR) before this answers.
      await redeliver(env, config, deliverInput(form, id), now);
      return seeOther(`/status/tasks/${id}?done=delivered`);
    }
    const report = await replay(env, replayInput(form, id), now);
    const item = report.items[0];
    if (item?.status === "started" && item.newTaskId) return seeOther(`/status/tasks/${item.newTaskId}?done=replayed`);
    throw new AppError("conflict", `not replayed: ${item?.reason ?? "nothing was started"}`);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return taskResponse(c, id, "page", { kind: "error", text: err.message }, err.status);
  }
}
