/**
 * A task's page. The part that changes while the task runs (`#live`) is also served alone as a
 * fragment (`/status/tasks/:id/live`): status.js fetches it every second while `data-poll` is set
 * and swaps it in, so the page follows the task without a reload and without client rendering.
 */
import { REPLAYABLE_TASK_STATUSES } from "@vault-mcp/contract";
import type { FC } from "hono/jsx";
import type { DiffSection, InstanceInfo, TaskPageView } from "../model.ts";
import type { Session } from "../session.ts";
import { ago, money, utc } from "../text.ts";
import { Meter } from "./charts.tsx";
import { Layout, Notice, StatusBadge } from "./layout.tsx";
import { Actions } from "./task-actions.tsx";
import { Delivery, Diff } from "./task-delivery.tsx";
import { Steps, Timeline } from "./task-timeline.tsx";

export interface LiveProps {
  view: TaskPageView;
  session: Session;
  instance: InstanceInfo | null;
  now: number;
  /** The first page of the change's diff, once the task has one and has stopped running. */
  diff: DiffSection | null;
}

const Result: FC<{ view: TaskPageView }> = ({ view }) =>
  view.diagram || view.resultText || view.error ? (
    <section class="result">
      <h2>Result</h2>
      {view.diagram ? (
        <iframe
          class="diagram"
          id="diagram"
          title="The result as a diagram"
          sandbox="allow-scripts"
          src={`/status/tasks/${view.id}/diagram?v=${view.updatedAt}`}
          height="160"
        />
      ) : null}
      {view.error ? (
        <pre class="error-text" id="task-error">
          {view.error}
        </pre>
      ) : null}
      {view.resultText ? (
        <pre class="result-text" id="result-text">
          {view.resultText}
        </pre>
      ) : null}
    </section>
  ) : null;

const Decisions: FC<{ view: TaskPageView }> = ({ view }) =>
  view.decisions.length ? (
    <section>
      <h2>Decisions</h2>
      <ul class="decisions">
        {view.decisions.map((d) => (
          <li>
            <strong>{d.kind}</strong> {d.decision}{" "}
            <small>
              by {d.actor}, {utc(d.createdAt)}
            </small>
            {d.rationale ? <pre>{d.rationale}</pre> : null}
          </li>
        ))}
      </ul>
    </section>
  ) : null;

/** The part of the page the poller replaces. */
export const Live: FC<LiveProps> = ({ view, session, instance, diff }) => (
  <section id="live" data-status={view.status} data-poll={view.live ? `/status/tasks/${view.id}/live` : undefined}>
    <div class="summary">
      <StatusBadge status={view.status} />
      <span id="task-status">{view.status}</span>
      <span>
        {view.attempts.length} attempt{view.attempts.length === 1 ? "" : "s"}
      </span>
      <span>
        spent <strong id="task-cost">{money(view.costUsd)}</strong>
        {view.chainSpentUsd !== view.costUsd ? ` (${money(view.chainSpentUsd)} with its replays)` : ""} of a{" "}
        {money(view.capUsd)} cap
      </span>
      <Meter
        value={view.chainSpentUsd}
        limit={view.capUsd}
        label={`spent ${money(view.chainSpentUsd)} of ${money(view.capUsd)}`}
      />
      {view.flags.length ? <span class="flags">flags: {view.flags.join(", ")}</span> : null}
      {view.live ? <span class="live-dot">updating</span> : null}
    </div>
    <Actions
      view={view}
      session={session}
      replayable={REPLAYABLE_TASK_STATUSES.includes(view.status) || view.status === "succeeded"}
    />
    <Timeline view={view} />
    <Result view={view} />
    <Delivery delivery={view.delivery} />
    <Diff taskId={view.id} diff={diff} />
    <Steps view={view} instance={instance} />
    <Decisions view={view} />
  </section>
);

export const TaskPage: FC<LiveProps & { notice: { kind: "ok" | "error"; text: string } | null }> = (props) => {
  const { view, session, now, notice } = props;
  return (
    <Layout title={view.id} section="tasks" session={session}>
      <p class="crumbs">
        <a href="/status">Tasks</a> / {view.id}
      </p>
      <h1 class="task-id">{view.id}</h1>
      <p class="meta">
        {view.repo} · {view.asked} · kind {view.kind} · created {utc(view.createdAt)} ({ago(now - view.createdAt)} ago)
        {view.replayOf ? (
          <>
            {" "}
            · replays <a href={`/status/tasks/${view.replayOf}`}>{view.replayOf}</a>
          </>
        ) : null}
      </p>
      {view.replays.length ? (
        <p class="meta">
          replayed as{" "}
          {view.replays.map((r) => (
            <a href={`/status/tasks/${r}`} class="replay-link">
              {r}
            </a>
          ))}
        </p>
      ) : null}
      {notice ? <Notice kind={notice.kind} text={notice.text} /> : null}
      <section>
        <h2>Prompt</h2>
        <pre class="prompt" id="prompt">
          {view.prompt}
        </pre>
        {view.spec ? (
          <details>
            <summary>Spec</summary>
            <pre class="spec" id="spec">
              {view.spec}
            </pre>
          </details>
        ) : null}
      </section>
      <Live {...props} />
    </Layout>
  );
};
