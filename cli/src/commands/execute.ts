import {
  DeliverSetting,
  ExecuteOutcome,
  ExecutorChoice,
  GitRef,
  ProfileChoice,
  RepoName,
  TaskDetail,
  TaskState,
  TERMINAL_TASK_STATUSES,
} from "@vault-mcp/contract";
import { schemaValue as checked, parseFlags, positive, UsageError } from "../args.ts";
import { changeLines } from "../change.ts";
import { type Command, connect, type Io } from "../command.ts";
import { duration, money, paint, status } from "../format.ts";
import { CliError } from "../http.ts";

/** Polls that may fail in a row (a Worker reload, a blip) before the CLI gives up following. */
const POLL_FAILURES_TOLERATED = 3;
const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_TASK_STATUSES);

/** What the task is doing now, from its stages: the step and the rung. */
export function phaseOf(d: TaskDetail): { step: string; rung: string | null } {
  const t = d.task;
  const last = d.stages.at(-1);
  if (t.status === "init") return { step: "starting", rung: null };
  if (!last) return { step: "choosing a rung", rung: null };
  if (last.status === "running") return { step: `attempt ${last.attempt} running`, rung: last.profile };
  if (last.status === "succeeded") {
    const delivering = t.deliver && t.deliver !== "none" && t.commit && t.delivery === null;
    return { step: delivering ? `delivering (${t.deliver})` : "finishing", rung: last.profile };
  }
  return { step: `attempt ${last.attempt} ${last.status}, choosing the next rung`, rung: last.profile };
}

/** `--verify` takes the rest of the command line as the argv of the verify command. */
function splitVerify(args: string[]): { flags: string[]; verify: string[] | undefined } {
  const at = args.indexOf("--verify");
  if (at < 0) return { flags: args, verify: undefined };
  const verify = args.slice(at + 1);
  if (verify.length === 0)
    throw new UsageError("--verify takes the command to run after the agent, e.g. --verify npm test");
  return { flags: args.slice(0, at), verify };
}

/** Follows the task until it ends: one live line on a terminal, a plain line per change otherwise. */
async function follow(io: Io, get: () => Promise<TaskDetail>, intervalMs: number, quiet: boolean): Promise<void> {
  const start = io.now();
  let lastKey = "";
  let failures = 0;
  for (;;) {
    let d: TaskDetail;
    try {
      d = await get();
      failures = 0;
    } catch (err) {
      if (++failures > POLL_FAILURES_TOLERATED) throw err;
      await io.sleep(intervalMs);
      continue;
    }
    if (TERMINAL.has(d.task.status)) break;
    const { step, rung } = phaseOf(d);
    const key = `${step} · ${rung ?? "-"} · ${money(d.task.costUsd)}`;
    const line = `${d.task.id} · ${step} · ${rung ?? "-"} · ${duration(io.now() - start)} · ${money(d.task.costUsd)}`;
    if (!quiet) {
      if (io.live) io.live.update(line);
      else if (key !== lastKey) io.err(line);
    }
    lastKey = key;
    await io.sleep(intervalMs);
  }
  io.live?.done();
}

export const execute: Command = {
  name: "execute",
  summary: "Run a task from the terminal: follow it, then print its result, branch and pull request.",
  about: `Starts a task like the execute tool (POST /api/execute), shows where it is while it runs (step,
rung, elapsed time, spend: one updating line on a terminal, a line per change otherwise), then prints
the result with the change's branch, diffstat and pull request. --deliver overrides the repo's
delivery (none, push, pr). --verify takes the rest of the command line as the command run in the
worktree after the agent, so it comes last. Exit 0 only when the task succeeded (1 otherwise).`,
  usage: [
    'execute "<prompt>" --repo <name> [--executor claude|codex|gemini|consensus | --profile <p>] [--deliver none|push|pr] [--budget <usd>] [--kind <k>] [--ref <ref>] [--json] [--verify <argv>…]',
  ],
  flags: `  --repo <name>        a repo registered by URL (vault repos list) or placed on the executor by hand
  --executor <cli>     run this CLI once (claude, codex, gemini) or consensus, instead of the ladder
  --profile <p>        start the ladder here (auto: from its first rung); with --executor only auto
  --deliver <mode>     none, push or pr (default: the repo's)
  --budget <usd>       the task's cap (default $5)
  --kind <kind>        task kind for statistics (default general)
  --ref <ref>          branch, tag or commit to start from
  --interval <s>       seconds between progress polls (default 1)
  --json               the final state as JSON (no progress lines)
  --verify <argv>…     everything after it: the command to verify the work with, e.g. --verify npm test`,
  examples: [
    'vault execute "Add a --verbose flag" --repo app --deliver pr --verify npm test',
    'vault execute "Fix the flaky test" --repo app --executor claude --budget 2',
  ],
  async run(args, io) {
    const split = splitVerify(args);
    const { values, positionals } = parseFlags(split.flags, {
      repo: { type: "string" },
      executor: { type: "string" },
      profile: { type: "string" },
      deliver: { type: "string" },
      budget: { type: "string" },
      kind: { type: "string" },
      ref: { type: "string" },
      interval: { type: "string" },
      json: { type: "boolean" },
    });
    if (positionals.length !== 1) throw new UsageError('give the prompt as one argument, in quotes: vault execute "…"');
    const prompt = positionals[0] ?? "";
    if (prompt.trim() === "") throw new UsageError("the prompt is empty");
    if (values.repo === undefined) throw new UsageError("give --repo <name> (vault repos list shows them)");
    if (values.executor !== undefined && values.profile !== undefined && values.profile !== "auto")
      throw new UsageError("give --executor or --profile, not both (--profile auto beside --executor lets it climb)");
    const executor = checked("--executor", ExecutorChoice, values.executor, "claude, codex, gemini or consensus");
    const body = {
      prompt,
      repo: checked("--repo", RepoName, values.repo, "a repo name like 'app'"),
      ...(executor !== undefined ? { executor } : {}),
      ...(values.profile !== undefined
        ? { profile: checked("--profile", ProfileChoice, values.profile, "auto or a profile name") }
        : {}),
      ...(values.deliver !== undefined
        ? { deliver: checked("--deliver", DeliverSetting, values.deliver, "none, push or pr") }
        : {}),
      ...(values.budget !== undefined ? { budgetUsd: positive("--budget", values.budget, 1000) } : {}),
      ...(values.kind !== undefined ? { kind: values.kind } : {}),
      ...(values.ref !== undefined ? { ref: checked("--ref", GitRef, values.ref, "a branch, tag or commit") } : {}),
      ...(split.verify ? { verify: split.verify } : {}),
      waitSeconds: 0,
    };
    const intervalMs = Math.round((positive("--interval", values.interval, 60) ?? 1) * 1000);
    const api = connect(values, io);
    const started = await api.post("/api/execute", body, ExecuteOutcome);
    const id = started.taskId;
    if (!values.json) io.err(`${id} started on ${values.repo}; follow it with vault tasks show ${id}`);
    await follow(io, () => api.get(`/api/tasks/${id}`, TaskDetail), intervalMs, values.json === true);
    const state = await api.get(`/api/tasks/${id}/state`, TaskState);
    if (values.json) io.out(JSON.stringify(state, null, 2));
    else {
      const lines = [
        `${id} ${status(state.status, io.color)} · ${money(state.costUsd)}${state.flags.length ? ` · ${paint(`flags: ${state.flags.join(", ")}`, "warn", io.color)}` : ""}`,
      ];
      if (state.result) lines.push(state.result);
      if (state.change) lines.push(...changeLines(state.change, io.color));
      if (state.error) lines.push(`error: ${state.error}`);
      io.out(lines.join("\n"));
    }
    if (state.status !== "succeeded") throw new CliError(`task ${id} ended ${state.status}`, 1);
    return 0;
  },
};
