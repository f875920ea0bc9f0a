/**
 * What a person can do on a task: answer it when it waits for one (the same services as `workflow
 * decide` and `breakers raise`), replay it, and deliver its change again after a failed delivery
 * (the service of `vault deliver`, POST /api/tasks/:id/deliver). Every form posts with the
 * session's CSRF token.
 */
import { DeliveryMode, ProfileName } from "@vault-mcp/contract";
import type { FC } from "hono/jsx";
import type { TaskPageView } from "../model.ts";
import { isWaiting } from "../queries/task-page.ts";
import type { Session } from "../session.ts";
import { money } from "../text.ts";
import { CsrfField } from "./layout.tsx";

const DecideForm: FC<{ view: TaskPageView; session: Session }> = ({ view, session }) => (
  <form method="post" action={`/status/tasks/${view.id}/decide`} class="card decide" id="decide-form">
    <h2>This task waits for you</h2>
    <p>
      The ladder's last rung failed. Retry (with instructions, on a profile you choose), accept it as it is, or abort
      it.
    </p>
    <CsrfField session={session} />
    <input type="hidden" name="wait" value={view.waitingFor ?? ""} />
    <label for="instructions">Instructions for the retry</label>
    <textarea id="instructions" name="instructions" rows={4} maxlength={20000} />
    <label for="retry-profile">Profile for the retry</label>
    <select id="retry-profile" name="profile">
      <option value="">the ladder, from its first rung</option>
      {ProfileName.options.map((p) => (
        <option value={p}>{p}</option>
      ))}
    </select>
    <div class="buttons">
      <button type="submit" name="decision" value="retry" class="primary" id="retry">
        Retry
      </button>
      <button type="submit" name="decision" value="approve" id="approve">
        Accept as it is
      </button>
      <button type="submit" name="decision" value="reject" class="danger" id="abort">
        Abort
      </button>
    </div>
  </form>
);

const BudgetForm: FC<{ view: TaskPageView; session: Session }> = ({ view, session }) => (
  <form method="post" action={`/status/tasks/${view.id}/budget`} class="card decide" id="budget-form">
    <h2>This task reached its cap</h2>
    <p>
      It and its replays spent {money(view.chainSpentUsd)} of {money(view.capUsd)}. Raise the cap to let it go on.
    </p>
    <CsrfField session={session} />
    <input type="hidden" name="wait" value={view.waitingFor ?? ""} />
    <label for="cap">New cap (USD)</label>
    <input
      id="cap"
      name="capUsd"
      type="number"
      step="0.01"
      min={(view.chainSpentUsd + 0.01).toFixed(2)}
      max="1000"
      value={Math.max(view.capUsd * 2, view.chainSpentUsd + 1).toFixed(2)}
      required
    />
    <label for="note">Note</label>
    <input id="note" name="note" type="text" maxlength={2000} />
    <div class="buttons">
      <button type="submit" class="primary" id="raise">
        Raise the cap
      </button>
    </div>
  </form>
);

const ReplayForm: FC<{ view: TaskPageView; session: Session }> = ({ view, session }) => (
  <form method="post" action={`/status/tasks/${view.id}/replay`} class="inline" id="replay-form">
    <CsrfField session={session} />
    <label>
      from
      <select name="fromTier">
        <option value="">its own start</option>
        {ProfileName.options.map((p) => (
          <option value={p}>{p}</option>
        ))}
      </select>
    </label>
    {view.replays.length ? <input type="hidden" name="force" value="true" /> : null}
    <button type="submit" id="replay">
      {view.replays.length ? "Replay again" : "Replay"}
    </button>
  </form>
);

const ownMode = (view: TaskPageView) => {
  const mode = view.delivery?.deliver;
  return mode && mode !== "none" ? `its own (${mode})` : "the repo's";
};

/** Shown while the last delivery failed: after fixing what its message names, try again from here. */
const DeliverForm: FC<{ view: TaskPageView; session: Session }> = ({ view, session }) => (
  <form method="post" action={`/status/tasks/${view.id}/deliver`} class="inline" id="deliver-form">
    <CsrfField session={session} />
    <label>
      as
      <select name="deliver">
        <option value="">{ownMode(view)}</option>
        {DeliveryMode.options.map((m) => (
          <option value={m}>{m}</option>
        ))}
      </select>
    </label>
    <button type="submit" class="primary" id="deliver-again">
      Deliver again
    </button>
  </form>
);

export const Actions: FC<{ view: TaskPageView; session: Session; replayable: boolean }> = ({
  view,
  session,
  replayable,
}) => (
  <div class="actions">
    {view.status === "needs_human" && isWaiting(view, "human") ? <DecideForm view={view} session={session} /> : null}
    {view.status === "halted" && isWaiting(view, "budget") ? <BudgetForm view={view} session={session} /> : null}
    {view.status === "succeeded" && view.delivery?.failed ? <DeliverForm view={view} session={session} /> : null}
    {replayable && !view.live && !view.waitingFor ? <ReplayForm view={view} session={session} /> : null}
  </div>
);
