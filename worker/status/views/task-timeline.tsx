/** A task's attempts as a waterfall (when each started and how long it ran) and its step list. */
import type { FC } from "hono/jsx";
import type { InstanceInfo, TaskPageView } from "../model.ts";
import { duration, money, tokens, utc } from "../text.ts";
import { Meter, Span } from "./charts.tsx";

export const Timeline: FC<{ view: TaskPageView }> = ({ view }) => {
  const first = view.attempts[0];
  if (!first) return <p class="empty">No attempt has started yet.</p>;
  const t0 = first.startedAt;
  const end = Math.max(t0 + 1, ...view.attempts.map((a) => a.startedAt + a.durationMs));
  const total = end - t0;
  return (
    <section>
      <h2>Attempts</h2>
      <table class="timeline" id="timeline">
        <thead>
          <tr>
            <th>#</th>
            <th>Profile</th>
            <th>Executor</th>
            <th>Status</th>
            <th>Started</th>
            <th class="bar-col">Duration</th>
            <th class="num">Tokens in / out / cache</th>
            <th class="num">Cost</th>
            <th class="bar-col">Spent of cap</th>
          </tr>
        </thead>
        <tbody>
          {view.attempts.map((a) => (
            <>
              <tr data-attempt={a.attempt} data-status={a.status}>
                <td elementtiming="attempt-row">{a.attempt}</td>
                <td>
                  {a.profile}
                  <small>
                    {a.cli} · {a.model}
                  </small>
                </td>
                <td>{a.executorId ?? "default"}</td>
                <td>
                  <span class={`badge s-${a.status}`}>{a.status}</span>
                </td>
                <td title={utc(a.startedAt)}>{utc(a.startedAt).slice(11)}</td>
                <td class="bar-col">
                  <Span
                    start={a.startedAt - t0}
                    length={a.durationMs}
                    total={total}
                    cls={a.running ? "running" : a.status === "succeeded" ? "ok" : "bad"}
                    label={`attempt ${a.attempt}: ${duration(a.durationMs)}`}
                  />
                  <small>{duration(a.durationMs)}</small>
                </td>
                <td class="num">
                  {tokens(a.tokensIn)} / {tokens(a.tokensOut)} / {tokens(a.tokensCache)}
                </td>
                <td class="num">{money(a.costUsd)}</td>
                <td class="bar-col">
                  <Meter
                    value={a.cumulativeUsd}
                    limit={view.capUsd}
                    label={`${money(a.cumulativeUsd)} of ${money(view.capUsd)} after attempt ${a.attempt}`}
                  />
                  <small>
                    {money(a.cumulativeUsd)} / {money(view.capUsd)}
                  </small>
                </td>
              </tr>
              {a.message ? (
                <tr class="message">
                  <td />
                  <td colspan={8}>
                    <pre class="stage-message">{a.message}</pre>
                  </td>
                </tr>
              ) : null}
            </>
          ))}
        </tbody>
      </table>
    </section>
  );
};

export const Steps: FC<{ view: TaskPageView; instance: InstanceInfo | null }> = ({ view, instance }) => (
  <section>
    <h2>Steps</h2>
    <p class="meta" id="instance">
      {instance
        ? `workflow instance: ${instance.status}${instance.error ? ` (${instance.error})` : ""}`
        : view.live || view.waitingFor
          ? "no workflow instance (the task was never executed)"
          : `workflow instance: finished (${view.status})`}
    </p>
    <ol class="steps" id="steps">
      {view.steps.map((s) => (
        <li class={`step ${s.state}`}>
          <code>{s.name}</code> <span class="state">{s.state}</span>
          {s.detail ? <small> {s.detail}</small> : null}
        </li>
      ))}
    </ol>
  </section>
);
