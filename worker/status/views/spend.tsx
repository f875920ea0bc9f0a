/** Spend at a glance: today and this month against their limits, the month by day, where it went. */
import type { FC } from "hono/jsx";
import type { ProfileRecord, SpendView } from "../queries/spend.ts";
import type { Session } from "../session.ts";
import { money, utc } from "../text.ts";
import { Columns, Meter, Share } from "./charts.tsx";
import { CsrfField, Layout, Notice, StatusBadge } from "./layout.tsx";

const pct = (r: number | null) => (r === null ? "–" : `${Math.round(r * 100)}%`);

const Records: FC<{ rows: ProfileRecord[]; id: string; withKind: boolean }> = ({ rows, id, withKind }) => {
  const maxPerSolve = Math.max(0, ...rows.map((r) => r.costPerSolveUsd ?? 0)) || 1;
  return rows.length === 0 ? (
    <p class="empty">No model run recorded yet.</p>
  ) : (
    <table class="records" id={id}>
      <thead>
        <tr>
          <th>Profile</th>
          {withKind ? <th>Kind</th> : null}
          <th class="num">Runs</th>
          <th class="bar-col">Success rate</th>
          <th class="num">Spent</th>
          <th class="bar-col">Cost per solved task</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr data-profile={r.profile}>
            <td>{r.profile}</td>
            {withKind ? <td>{r.kind}</td> : null}
            <td class="num">{r.runs}</td>
            <td class="bar-col">
              <Share value={r.successRate} label={`${r.profile} succeeds ${pct(r.successRate)}`} />
              <small>
                {pct(r.successRate)} ({r.successes}/{r.runs})
              </small>
            </td>
            <td class="num">{money(r.totalCostUsd)}</td>
            <td class="bar-col">
              <Share
                value={r.costPerSolveUsd === null ? null : r.costPerSolveUsd / maxPerSolve}
                label={`${r.profile}: ${r.costPerSolveUsd === null ? "nothing solved" : money(r.costPerSolveUsd)} per solved task`}
              />
              <small>{r.costPerSolveUsd === null ? "nothing solved" : money(r.costPerSolveUsd)}</small>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};

export const SpendPage: FC<{
  session: Session;
  spend: SpendView;
  notice: { kind: "ok" | "error"; text: string } | null;
}> = ({ session, spend, notice }) => {
  const { breakers: b, thresholds: t } = spend;
  return (
    <Layout title="Spend" section="spend" session={session}>
      <h1>Spend</h1>
      {notice ? <Notice kind={notice.kind} text={notice.text} /> : null}
      <div class="meters">
        <div class="card" id="today">
          <h2>Today</h2>
          <p class="big">
            {money(b.day.spentUsd)}{" "}
            <small>
              of {money(b.day.limitUsd)} · {b.day.runs} runs
            </small>
          </p>
          <Meter value={b.day.spentUsd} limit={b.day.limitUsd} warnAt={b.day.limitUsd * 0.8} label="today's spend" />
          {b.blocked ? <p class="notice error">Blocked: no new dispatch until 00:00 UTC.</p> : null}
        </div>
        <div class="card" id="month">
          <h2>This month</h2>
          <p class="big">
            {money(b.month.spentUsd)}{" "}
            <small>
              of {money(b.month.limitUsd)} · {b.month.runs} runs
            </small>
          </p>
          <Meter
            value={b.month.spentUsd}
            limit={b.month.limitUsd}
            warnAt={b.month.limitUsd * 0.8}
            label="this month's spend"
          />
          {b.flagged ? (
            <form method="post" action="/status/spend/ack" class="notice error" id="ack-form">
              <CsrfField session={session} />
              This month's spend reached the ${t.monthFlagUsd} flag: every result is flagged until you acknowledge it.
              <input type="text" name="note" maxlength={2000} placeholder="why it is fine (optional)" />
              <button type="submit" id="ack">
                Acknowledge
              </button>
            </form>
          ) : b.month.acknowledgedAt ? (
            <p class="meta">flag acknowledged {utc(b.month.acknowledgedAt)}</p>
          ) : null}
        </div>
      </div>
      <section>
        <h2>This month by day</h2>
        <Columns
          points={spend.days.map((d) => ({ label: d.day, value: d.usd }))}
          limit={t.dayBlockUsd}
          label="spend per day this month, against the daily block"
        />
        <p class="axis">
          <span>{spend.days[0]?.day ?? ""}</span>
          <span>{spend.days.at(-1)?.day ?? ""}</span>
        </p>
        <p class="meta">
          The line is the daily block ({money(t.dayBlockUsd)}); per task: a warning at {money(t.taskWarnUsd)}, a halt at{" "}
          {money(t.taskHaltUsd)}.
        </p>
      </section>
      <section>
        <h2>Most expensive tasks this month</h2>
        {spend.expensive.length === 0 ? (
          <p class="empty">Nothing spent this month.</p>
        ) : (
          <table id="expensive">
            <tbody>
              {spend.expensive.map((x) => (
                <tr>
                  <td>
                    <StatusBadge status={x.status} />
                  </td>
                  <td class="what">
                    <a href={`/status/tasks/${x.id}`}>{x.title || x.id}</a>
                    <small>
                      {x.id} · {x.repo}
                    </small>
                  </td>
                  <td class="num">{money(x.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section>
        <h2>Profiles</h2>
        <p class="meta">From model_stats: every run counts, so a failed run raises the cost per solved task.</p>
        <Records rows={spend.profiles} id="profiles" withKind={false} />
        <details>
          <summary>By kind of task</summary>
          <Records rows={spend.byKind} id="by-kind" withKind={true} />
        </details>
      </section>
    </Layout>
  );
};
