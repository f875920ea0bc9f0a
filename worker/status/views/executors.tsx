/**
 * The executors. Today one (EXECUTOR_URL), probed through its open /health; the page is laid out for
 * the pool (issue 19): one card per executor with its state, slots, running jobs, ready profiles and
 * heartbeat, and a drain button once the pool's drain endpoint exists (`canDrain`).
 */
import type { FC } from "hono/jsx";
import type { ExecutorView } from "../model.ts";
import type { Session } from "../session.ts";
import { ago } from "../text.ts";
import { CsrfField, Layout } from "./layout.tsx";

const Card: FC<{ e: ExecutorView; session: Session; now: number }> = ({ e, session, now }) => (
  <div class={`card executor ${e.state}`} data-executor={e.id}>
    <h2>
      {e.id} <span class={`badge x-${e.state}`}>{e.state}</span>
    </h2>
    <dl>
      {e.url ? (
        <>
          <dt>URL</dt>
          <dd>
            <code>{e.url}</code>
          </dd>
        </>
      ) : null}
      <dt>Slots</dt>
      <dd>
        {e.running ?? "?"} running of {e.slots ?? "?"}, {e.queued ?? "?"} queued
      </dd>
      <dt>Heartbeat</dt>
      <dd>
        {ago(now - e.heartbeatAt)} ago{e.latencyMs !== null ? ` (${e.latencyMs} ms)` : ""}
      </dd>
      <dt>Ready profiles</dt>
      <dd class="ready">{e.readyProfiles.length ? e.readyProfiles.join(", ") : "none"}</dd>
    </dl>
    {e.notReady.length ? (
      <ul class="not-ready">
        {e.notReady.map((n) => (
          <li>
            <code>{n.profile}</code>: {n.missing}
          </li>
        ))}
      </ul>
    ) : null}
    {e.canDrain ? (
      <form method="post" action={`/status/executors/${e.id}/drain`}>
        <CsrfField session={session} />
        <button type="submit">Drain</button>
      </form>
    ) : null}
  </div>
);

export const ExecutorsPage: FC<{ session: Session; executors: ExecutorView[]; now: number }> = ({
  session,
  executors,
  now,
}) => (
  <Layout title="Executors" section="executors" session={session}>
    <h1>Executors</h1>
    <div class="executors" id="executors">
      {executors.map((e) => (
        <Card e={e} session={session} now={now} />
      ))}
    </div>
  </Layout>
);
