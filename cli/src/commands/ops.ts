import { parseArgs } from "node:util";
import { request, type Target } from "../client.ts";
import { money } from "../format.ts";
import { UsageError } from "./tasks.ts";

export const OPS_USAGE = `vault breakers [--ack] [--raise <taskId> --cap <usd>] [--json]
vault decide <id> --approve | --reject | --retry-with <profile> [--note "…"]
vault health [--json]`;

interface Period {
  spentUsd: number;
  limitUsd: number;
  state: string;
}

export async function breakersCommand(t: Target, args: string[], out: (s: string) => void): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { ack: { type: "boolean" }, raise: { type: "string" }, cap: { type: "string" }, note: { type: "string" }, json: { type: "boolean" } } });
  if (values.raise) {
    const cap = Number(values.cap);
    if (!(cap > 0)) throw new UsageError("--raise needs --cap <usd> (a positive number)");
    await request(t, "POST", `/api/tasks/${encodeURIComponent(values.raise)}/budget`, { capUsd: cap, actor: "vault-cli", ...(values.note ? { note: values.note } : {}) });
    out(`${values.raise}: cap raised to ${money(cap)}; it resumes`);
    return 0;
  }
  if (values.ack) {
    await request(t, "POST", "/api/breakers/ack", { actor: "vault-cli", ...(values.note ? { note: values.note } : {}) });
    out("monthly flag acknowledged");
    return 0;
  }
  const b = await request<{ day: Period; month: Period; blocked: boolean; flagged: boolean }>(t, "GET", "/api/breakers");
  if (values.json) out(JSON.stringify(b, null, 2));
  else {
    out(`today   ${money(b.day.spentUsd)} of ${money(b.day.limitUsd)}  ${b.blocked ? "BLOCKED until 00:00 UTC" : "ok"}`);
    out(`month   ${money(b.month.spentUsd)} of ${money(b.month.limitUsd)}  ${b.flagged ? "FLAGGED (vault breakers --ack)" : b.month.state}`);
  }
  return 0;
}

export async function decideCommand(t: Target, args: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { approve: { type: "boolean" }, reject: { type: "boolean" }, "retry-with": { type: "string" }, note: { type: "string" } } });
  const id = positionals[0];
  const chosen = [values.approve, values.reject, values["retry-with"] !== undefined].filter(Boolean).length;
  if (!id || chosen !== 1) throw new UsageError("decide needs a task id and exactly one of --approve, --reject, --retry-with <profile>");
  const decision = values.approve ? "approve" : values.reject ? "reject" : "retry";
  await request(t, "POST", `/api/tasks/${encodeURIComponent(id)}/decide`, {
    decision,
    actor: "vault-cli",
    ...(values["retry-with"] ? { profile: values["retry-with"] } : {}),
    ...(values.note ? { instructions: values.note } : {}),
  });
  out(`${id}: ${decision} sent`);
  return 0;
}

export async function healthCommand(t: Target, args: string[], out: (s: string) => void): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { json: { type: "boolean" } } });
  const h = await request<{ status: string; version: string; d1: { reachable: boolean }; executor: { reachable: boolean; running?: number; capacity?: number }; breakers: { blocked: boolean; flagged: boolean } | null }>(t, "GET", "/api/health");
  if (values.json) out(JSON.stringify(h, null, 2));
  else out(`${h.status}  v${h.version}  d1 ${h.d1.reachable ? "up" : "DOWN"}  executor ${h.executor.reachable ? `up (${h.executor.running ?? 0}/${h.executor.capacity ?? "?"} running)` : "DOWN"}${h.breakers?.blocked ? "  day BLOCKED" : ""}${h.breakers?.flagged ? "  month FLAGGED" : ""}`);
  return h.status === "ok" ? 0 : 1;
}
