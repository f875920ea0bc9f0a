/**
 * One instance per `execute`; instance id = task id. It reads as its step names:
 *
 *   breaker-check #1 → init → dispatch <profile> #1 → wait <profile> #1 → [poll <profile> #1]
 *     → write <profile> #1 → escalate #1 → breaker-check #2 → dispatch <next> #2 → … → finish
 *   halt #h → budget #h → resume #h           the task's cap is reached (waits for a budget event)
 *   await-human #h → human #h → resume-human #h   the ladder's top (waits for a human event)
 *   write error <profile> #n → finish          the executor refused the job or stayed unreachable
 *   fail                                       best effort, before the instance errors (D1, bugs)
 *
 * Step bodies live in ./steps (tested on their own); retries and timeouts in ./step-config.ts.
 * Replay safety: outside step.do this file only counts, branches on step results and event
 * payloads (which the engine stores and hands back identically) and builds step names from them, so
 * every replay takes the same path with the same names. Clocks, D1 and fetch run only in steps.
 */
import {
  WorkflowEntrypoint,
  type WorkflowEvent,
  type WorkflowSleepDuration,
  type WorkflowStep,
} from "cloudflare:workers";
import type { ProfileName, TaskStatus } from "@vault-mcp/contract";
import { type Config, getConfig } from "../core/config.ts";
import { describe } from "../core/errors.ts";
import { log } from "../core/log.ts";
import {
  type AttemptFailure,
  type ExecutorClient,
  executorClient,
  executorFetch,
  executorStep,
  isFinished,
} from "./executor-client.ts";
import { AUTO, HUMAN, type Wanted } from "./ladder.ts";
import { BUDGET_EVENT, BudgetEvent, ExecuteParams, HUMAN_EVENT, HumanEvent, resultEventType } from "./params.ts";
import { finishedJobFromEvent } from "./result-event.ts";
import {
  BUDGET_WAIT,
  DB_STEP,
  DISPATCH_STEP,
  FAIL_STEP,
  HUMAN_WAIT,
  POLL_STEP,
  resultWait,
  WRITE_STEP,
} from "./step-config.ts";
import { type BreakerCheck, checkBreakers } from "./steps/breaker-check.ts";
import { dispatchJob } from "./steps/dispatch.ts";
import { escalate } from "./steps/escalate.ts";
import { errorFacts, type StageBase, stageErrorKind } from "./steps/facts.ts";
import { setTaskStatus } from "./steps/finish.ts";
import { initTask } from "./steps/init.ts";
import { pollJob } from "./steps/poll.ts";
import { type Written, writeJobStage, writeStage } from "./steps/write.ts";

export interface ExecuteOutput {
  taskId: string;
  status: TaskStatus;
  attempts: number;
  flags: string[];
}

type AttemptOutcome = { ran: true; written: Written } | { ran: false; message: string };

export class ExecuteWorkflow extends WorkflowEntrypoint<Env, ExecuteParams> {
  override async run(event: WorkflowEvent<ExecuteParams>, step: WorkflowStep): Promise<ExecuteOutput> {
    // Safe to re-run: the engine hands back the same stored payload, which parses the same way.
    const p = ExecuteParams.parse(event.payload);
    try {
      // Safe to re-run: config is the deployment's vars; the client is a plain object over fetch.
      const config = getConfig(this.env);
      return await new TaskRun(this.env.DB, config, executorClient(config, executorFetch()), p, step).drive();
    } catch (err) {
      // D1 stayed down through a step's retries, or a bug. The instance errors (visible in the
      // dashboard and to getTaskState), but first one best-effort step marks the task failed so the row
      // does not claim `running` forever. If D1 is still down that step fails too; the error stands.
      const message = describe(err).slice(0, 1000);
      await step
        .do("fail", FAIL_STEP, async () => {
          await this.env.DB.prepare(
            "UPDATE tasks SET status = 'failed', error = ?1, updated_at = ?2 WHERE id = ?3 AND status <> 'closed'",
          )
            .bind(`the workflow stopped: ${message}`.slice(0, 2000), Date.now(), p.taskId)
            .run();
          return { taskId: p.taskId };
        })
        .catch(() => undefined);
      throw err;
    }
  }
}

/** One drive of the ladder. Its fields change only from step results and event payloads. */
class TaskRun {
  private attempt = 0;
  private checks = 0;
  private halts = 0;
  private humans = 0;
  private started = false;
  private wanted: Wanted;
  private capUsd: number | undefined;
  private instructions: string | undefined;

  constructor(
    private readonly db: D1Database,
    private readonly config: Config,
    private readonly client: ExecutorClient,
    private readonly p: ExecuteParams,
    private readonly step: WorkflowStep,
  ) {
    // A pinned profile is an explicit choice: its first attempt runs even if it is cooling down.
    this.wanted = { profile: p.profile, forced: p.profile !== AUTO };
    this.capUsd = p.budgetUsd;
  }

  async drive(): Promise<ExecuteOutput> {
    const { db, config, step, p } = this;
    // Each pass is one breaker check and at most one attempt. The counters in the step names move
    // in the same order on every replay, so the names repeat exactly.
    for (;;) {
      const gate = await step.do(`breaker-check #${++this.checks}`, DB_STEP, () =>
        checkBreakers(
          db,
          config.breakers,
          { taskId: p.taskId, capUsd: this.capUsd, wanted: this.wanted, ladder: config.ladder },
          Date.now(),
        ),
      );
      // Branches on a stored step result: a replay takes the same one.
      if (gate.verdict === "block") return this.finish("blocked", blockedMessage(gate, config.breakers.dayBlockUsd));
      if (gate.verdict === "halt") {
        if (await this.haltUntilRaised(gate)) continue;
        return this.finish("halted", haltedMessage(gate));
      }
      if (!this.started) {
        await step.do("init", DB_STEP, () => initTask(db, p.taskId, Date.now()));
        this.started = true;
      }

      if (gate.profile === HUMAN) {
        // Branches on the stored event payload (or its absence): a replay takes the same one.
        const answer = await this.askHuman();
        if (answer === null)
          return this.finish("needs_human", "no human decision within 24 hours; the ladder's last rung failed");
        if (answer.decision === "approve") return this.finish("succeeded", null);
        if (answer.decision === "reject") return this.finish("failed", `rejected by ${answer.actor}`);
        // retry: a chosen profile runs as chosen; without one the ladder starts again from its first rung.
        this.wanted = answer.profile ? { profile: answer.profile, forced: true } : { profile: AUTO, forced: false };
        this.instructions = answer.instructions;
        continue;
      }

      const profile = gate.profile;
      const outcome = await this.runAttempt(profile);
      // The outcome is built from stored step results: a replay sees the same.
      if (!outcome.ran) return this.finish("failed", outcome.message);
      if (outcome.written.ok) return this.finish("succeeded", null);
      const next = await step.do(`escalate #${this.attempt}`, DB_STEP, () =>
        escalate(db, config.ladder, profile, Date.now()),
      );
      this.wanted = { profile: next.profile, forced: false };
    }
  }

  /**
   * dispatch → wait for the callback → (poll if none came) → write. No step holds a request open.
   * Each executor-facing step answers a final failure as data (`AttemptFailure`); an exception that
   * leaves a step here is D1 or a bug, and run() lets it error the instance.
   */
  private async runAttempt(profile: ProfileName): Promise<AttemptOutcome> {
    const { db, config, client, step, p } = this;
    const n = ++this.attempt;
    const base = { taskId: p.taskId, attempt: n, kind: p.kind, profile };
    const dispatched = await step.do(`dispatch ${profile} #${n}`, DISPATCH_STEP, (ctx) =>
      executorStep(ctx, () => dispatchJob(db, client, config, p, profile, n, this.instructions)),
    );
    if (!dispatched.ok) return this.attemptFailed(base, dispatched, null);
    const job = dispatched.value;
    // A retried dispatch may find the job already finished: then there is nothing to wait for.
    if (!isFinished(job)) {
      const event = await waitFor(step, `wait ${profile} #${n}`, resultEventType(n), resultWait(config.jobTimeoutMs));
      if (finishedJobFromEvent(event, job.jobId) === null) {
        const polled = await step.do(`poll ${profile} #${n}`, POLL_STEP, (ctx) =>
          executorStep(ctx, () => pollJob(client, job.jobId)),
        );
        if (!polled.ok) return this.attemptFailed(base, polled, job.jobId);
      }
    }
    const written = await step.do(`write ${profile} #${n}`, WRITE_STEP, (ctx) =>
      executorStep(ctx, () => writeJobStage(db, client, job.jobId, base, Date.now(), config.breakers)),
    );
    if (!written.ok) return this.attemptFailed(base, written, job.jobId);
    return { ran: true, written: written.value };
  }

  /**
   * The executor refused the job, stayed unreachable, or never finished it. Climbing would meet the
   * same executor, so record an `error` stage and end the task with a clear message.
   */
  private async attemptFailed(base: StageBase, failure: AttemptFailure, jobId: string | null): Promise<AttemptOutcome> {
    const { db, config, step } = this;
    const kind = stageErrorKind(failure.kind);
    const facts = errorFacts(base, kind, failure.message, jobId);
    await step.do(`write error ${base.profile} #${base.attempt}`, DB_STEP, async () => {
      log("warn", "attempt_failed", { taskId: base.taskId, attempt: base.attempt, profile: base.profile, kind });
      return writeStage(db, facts, Date.now(), config.breakers);
    });
    return { ran: false, message: `attempt ${base.attempt} (${base.profile}) could not run: ${failure.message}` };
  }

  /** Halted: no dispatch until a budget event raises the cap (then the next breaker-check decides). */
  private async haltUntilRaised(gate: BreakerCheck): Promise<boolean> {
    const { db, config, step, p } = this;
    const h = ++this.halts;
    await step.do(`halt #${h}`, DB_STEP, () =>
      setTaskStatus(db, config.breakers, p.taskId, { status: "halted", error: haltedMessage(gate) }, Date.now()),
    );
    // Parsing the stored payload is pure; an invalid one counts as no raise (the task ends halted).
    const raised = BudgetEvent.safeParse(await waitFor(step, `budget #${h}`, BUDGET_EVENT, BUDGET_WAIT));
    if (!raised.success) return false;
    this.capUsd = raised.data.capUsd;
    await step.do(`resume #${h}`, DB_STEP, () =>
      setTaskStatus(
        db,
        config.breakers,
        p.taskId,
        { status: this.started ? "running" : "init", error: null, budgetUsd: raised.data.capUsd },
        Date.now(),
      ),
    );
    return true;
  }

  /** The ladder's top: needs_human until a human event (approve / reject / retry) or the timeout. */
  private async askHuman(): Promise<HumanEvent | null> {
    const { db, config, step, p } = this;
    const h = ++this.humans;
    const why =
      "every rung of the ladder failed; approve, reject, or retry with a profile and instructions (workflow decide)";
    await step.do(`await-human #${h}`, DB_STEP, () =>
      setTaskStatus(db, config.breakers, p.taskId, { status: "needs_human", error: why }, Date.now()),
    );
    // Parsing the stored payload is pure; an invalid one counts as no answer (the task ends needs_human).
    const answer = HumanEvent.safeParse(await waitFor(step, `human #${h}`, HUMAN_EVENT, HUMAN_WAIT));
    if (!answer.success) return null;
    if (answer.data.decision === "retry") {
      await step.do(`resume-human #${h}`, DB_STEP, () =>
        setTaskStatus(db, config.breakers, p.taskId, { status: "running", error: null }, Date.now()),
      );
    }
    return answer.data;
  }

  private async finish(status: TaskStatus, error: string | null): Promise<ExecuteOutput> {
    const { db, config, step, p } = this;
    const out = await step.do("finish", DB_STEP, () =>
      setTaskStatus(db, config.breakers, p.taskId, { status, error }, Date.now()),
    );
    return { taskId: p.taskId, status, attempts: this.attempt, flags: out.flags };
  }
}

/** A wait that times out (or fails) answers null: each caller has a safe path for "no event". */
async function waitFor(
  step: WorkflowStep,
  name: string,
  type: string,
  timeout: WorkflowSleepDuration,
): Promise<unknown> {
  try {
    return (await step.waitForEvent(name, { type, timeout })).payload;
  } catch {
    return null;
  }
}

function blockedMessage(gate: BreakerCheck, dayBlockUsd: number): string {
  return `today's spend $${gate.daySpentUsd.toFixed(2)} reached the $${dayBlockUsd} daily block; no dispatch until 00:00 UTC (replay the task then)`;
}

function haltedMessage(gate: BreakerCheck): string {
  return `task spend $${gate.taskCostUsd.toFixed(2)} reached its $${gate.capUsd} cap; raise it (workflow decide with a budget, or POST /api/tasks/:id/budget) to resume`;
}
