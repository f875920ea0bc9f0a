/**
 * The status pages' forms, read and checked. A form is parsed into the same zod schema the MCP tool
 * and the REST route of that action use (HumanEvent, BudgetEvent, ReplayInput, BreakerAck,
 * TaskDeliver), so the page can ask for nothing the API would refuse. Empty fields mean "not given".
 */
import { AppError, parseInput } from "../../core/errors.ts";
import { BudgetEvent, HumanEvent } from "../../workflows/params.ts";
import { readBodyText } from "../http.ts";
import { BreakerAck } from "../services/breakers.ts";
import { TaskDeliver } from "../services/delivery.ts";
import { ReplayInput } from "../services/replay.ts";

/** Instructions may be 20,000 characters; percent-encoding can triple them. */
export const MAX_FORM_BYTES = 64 * 1024;
/** Who the decision log names for an action taken on these pages. */
export const ACTOR = "status page";

export async function readForm(request: Request): Promise<URLSearchParams> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers.get("content-type") ?? ""))
    throw new AppError("unsupported_media_type", "post the form as application/x-www-form-urlencoded");
  return new URLSearchParams(await readBodyText(request, MAX_FORM_BYTES));
}

/** The form's non-empty fields among `keys`, each once. */
function fields(form: URLSearchParams, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = form.get(k);
    if (v !== null && v.trim() !== "") out[k] = v;
  }
  return out;
}

export function decideInput(form: URLSearchParams): HumanEvent {
  return parseInput(HumanEvent, { ...fields(form, ["decision", "profile", "instructions", "wait"]), actor: ACTOR });
}

export function budgetInput(form: URLSearchParams): BudgetEvent {
  const f = fields(form, ["capUsd", "note", "wait"]);
  const capUsd = Number(f.capUsd);
  if (!Number.isFinite(capUsd)) throw new AppError("invalid_input", "give the new cap in USD, e.g. 10");
  return parseInput(BudgetEvent, { ...f, capUsd, actor: ACTOR });
}

export function replayInput(form: URLSearchParams, taskId: string): ReplayInput {
  const f = fields(form, ["fromTier"]);
  return parseInput(ReplayInput, { taskId, ...f, force: form.get("force") === "true" });
}

export function ackInput(form: URLSearchParams): BreakerAck & { actor: string } {
  return { ...parseInput(BreakerAck, fields(form, ["note"])), actor: ACTOR };
}

export function deliverInput(form: URLSearchParams, taskId: string): TaskDeliver {
  return parseInput(TaskDeliver, { taskId, ...fields(form, ["deliver"]) });
}
