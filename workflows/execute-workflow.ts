/**
 * One instance per `execute`; instance id = task id. It reads as its step names:
 *
 *   breaker-check #1 → init → readiness #1 → choose #1 → dispatch <profile> #1
 *     → wait <profile> #1.1 → [poll <profile> #1.1 → wait <profile> #1.2 → …] → write <profile> #1
 *     → breaker-check #2 → … → finish
 *   halt #h → budget #h → resume #h              the task's cap is reached (waits for a budget event)
 *   await-human #h → human #h → resume-human #h  the ladder's top (waits for a human's answer)
 *   write <profile> #n → deliver #n → finish     a succeeded attempt of a task that delivers (push, pr)
 *   write error <profile> #n → finish            the executor refused the job or stayed unreachable
 *   fail                                         best effort, before the instance errors (D1, bugs)
 *
 * A task that does not end `succeeded` ends its instance as Errored with the task's message, after
 * its last D1 write, so the dashboard's status filter finds every failure.
 *
 * Step bodies live in ./steps (tested on their own); retries and timeouts in ./step-config.ts; the
 * choice of rung is ./ladder.ts. Replay safety: outside step.do this file only counts, branches on
 * step results and event payloads (which the engine stores and hands back identically) and builds
 * step names from them, so every replay takes the same path with the same names. Clocks, D1 and
 * fetch run only in steps.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import type { ProfileName, TaskStatus } from "@vault-mcp/contract";
import { type Config, getConfig } from "../core/config.ts";
import { describe } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { awaitResult } from "./await-result.ts";
import {
  type AttemptFailure,
  type ExecutorClient,
  executorClient,
  executorFetch,
  executorStep,
  isFinished,
} from "./executor-client.ts";
import { AUTO, nextRung, type Pass, type Readiness, type Standing, type Wanted } from "./ladder.ts";
import { lapsedFacts } from "./lease.ts";
import { BudgetEvent, ExecuteParams, HumanEvent, waitEventType } from "./params.ts";
import {
  BUDGET_WAIT,
  DB_STEP,
  DELIVER_STEP,
  dispatchStep,
  FAIL_STEP,
  HUMAN_WAIT,
  READINESS_STEP,
  WRITE_STEP,
} from "./step-config.ts";
import { type BreakerCheck, checkBreakers } from "./steps/breaker-check.ts";
import { type Chosen, chooseRung } from "./steps/choose.ts";
import { DELIVERY_FAILED, deliverWork } from "./steps/deliver.ts";
import { dispatchJob } from "./steps/dispatch.ts";
import { errorFacts, type StageBase, stageErrorKind } from "./steps/facts.ts";
import { failTask, type StatusChange, setTaskStatus } from "./steps/finish.ts";
import { initTask } from "./steps/init.ts";
import { readReadiness } from "./steps/readiness.ts";
import { type Written, writeJobStage, writeStage } from "./steps/write.ts";
import {
  blockedMessage,
  haltedMessage,
  humanAsk,
  noHumanMessage,
  nothingRanMessage,
  unwrittenMessage,
} from "./task-messages.ts";
import { waitFor } from "./wait.ts";

export interface ExecuteOutput {
  taskId: string;
  status: TaskStatus;
  attempts: number;
  flags: string[];
}

/**
 * Thrown from `run` (outside any step, so nothing retries it) when a task ends without succeeding:
 * the instance then reads Errored in the dashboard, with the task's status and message.
 */
class TaskEndedError extends Error {
  override readonly name = "TaskEnded";
  constructor(taskId: string, status: TaskStatus, message: string | null) {
    // The task's id first: `npm start` prints this line (and only this line) for a task that ended.
    super(`task ${taskId} ${status}: ${message ?? "no message"}`);
  }
}

/** The job an attempt ran and the executor holding its work. */
interface RanJob {
  jobId: string;
  executorUrl: string;
}

/** How one attempt ended, as the drive loop needs it. */
type AttemptOutcome =
  /** `job`: where the attempt's work is (null when its executor's lease lapsed: no work to deliver). */
  | { ran: true; written: Written; job: RanJob | null }
  /** Nothing could be learnt from the executor: the task ends with this message. */
  | { ran: false; message: string };

/** An executor restart under a run re-dispatches the same profile, at most this many times in a row. */
const MAX_INTERRUPTED_REDISPATCH = 2;
/**
 * A job that never started (it was still queued when the executor restarted) is dispatched again
 * without counting as an interrupted run; this bounds such re-dispatches in a row (an executor that
 * keeps restarting), after which the task fails: climbing would meet the same executor.
 */
const MAX_NOT_STARTED_REDISPATCH = 5;

export class ExecuteWorkflow extends WorkflowEntrypoint<Env, ExecuteParams> {
  override async run(event: WorkflowEvent<ExecuteParams>, step: WorkflowStep): Promise<ExecuteOutput> {
    // Safe to re-run: the engine hands back the same stored payload, which parses the same way.
    const p = ExecuteParams.parse(event.payload);
    let out: ExecuteOutput & { error: string | null };
    try {
      // Safe to re-run: config is the deployment's vars; the client is a plain object over fetch.
      const config = getConfig(this.env);
      const fetchFn = executorFetch();
      const clientFor = (url: string) =>
        executorClient({ executorUrl: url, executorSecret: config.executorSecret }, fetchFn);
      out = await new TaskRun({ db: this.env.DB, config, clientFor, params: p, step }).drive();
    } catch (err) {
      // D1 stayed down through a step's retries, or a bug. The instance errors (visible in the
      // dashboard and to getTaskState), but first one best-effort step marks the task failed so the row
      // does not claim `running` forever. If D1 is still down that step fails too; the error stands.
      const message = describe(err).slice(0, 1000);
      log("error", "workflow_failed", { taskId: p.taskId, error: message });
      try {
        await step.do("fail", FAIL_STEP, () => failTask(this.env.DB, p.taskId, message, Date.now()));
      } catch (stepErr) {
        // Logged, not thrown: the first error (thrown below) is the one that says why the task stopped.
        log("error", "fail_step_failed", { taskId: p.taskId, error: describe(stepErr) });
      }
      throw err;
    }
    // After the last D1 write: an unsuccessful task errors its instance, with the task's own message,
    // so the dashboard shows it as what it is. Outside any step, so nothing retries it.
    if (out.status !== "succeeded") throw new TaskEndedError(p.taskId, out.status, out.error);
    return { taskId: out.taskId, status: out.status, attempts: out.attempts, flags: out.flags };
  }
}

/** One drive of the ladder. Its fields change only from step results and event payloads. */
class TaskRun {
  private attempt = 0;
  private checks = 0;
  private halts = 0;
  private humans = 0;
  private started = false;
  /** A model really ran in this task (else an exhausted ladder is a setup problem, not a human's). */
  private modelRan = false;
  /** A rung was passed because it was cooling down (not a setup problem). */
  private passedCooling = false;
  private interruptedInARow = 0;
  private notStartedInARow = 0;
  /** The caller named what runs (a profile, or a CLI without climb): restarts never move it up the ladder. */
  private readonly pinned: boolean;
  private wanted: Wanted;
  /** Ask the chooser at the next pick: an `auto` task's first, and after a human's retry without a profile. */
  private consult: boolean;
  /** The chooser's ceiling for this climb: its last rung before a human, and why. */
  private ceiling: { stopAfter: ProfileName; why: string } | undefined;
  /** The chooser's line, for the stage of the attempt it chose. */
  private note: { attempt: number; text: string } | undefined;
  private capUsd: number | undefined;
  private instructions: string | undefined;
  private readonly aside: Standing["aside"] = {};
  private lastError: string | null = null;

  private readonly db: D1Database;
  private readonly config: Config;
  /** A client for the executor at a URL: each attempt talks to the executor its job went to. */
  private readonly clientFor: (url: string) => ExecutorClient;
  private readonly p: ExecuteParams;
  private readonly step: WorkflowStep;

  constructor(run: {
    db: D1Database;
    config: Config;
    clientFor: (url: string) => ExecutorClient;
    params: ExecuteParams;
    step: WorkflowStep;
  }) {
    const { config, params: p } = run;
    this.db = run.db;
    this.config = config;
    this.clientFor = run.clientFor;
    this.p = p;
    this.step = run.step;
    // A pinned profile is an explicit choice: its first attempt runs even if it is cooling down.
    // (A direct `executor` run is resolved to its profile once the executor says which.)
    this.wanted =
      p.profile === AUTO ? { from: config.ladder[0] ?? "human", forced: false } : { from: p.profile, forced: true };
    // Pinned profiles and direct `executor` runs never consult the chooser, nor its ceiling.
    this.consult = this.chooses();
    this.capUsd = p.budgetUsd;
    this.pinned = p.profile !== AUTO || !p.climb;
  }

  async drive(): Promise<ExecuteOutput & { error: string | null }> {
    const { config, p } = this;
    // Each pass is one breaker check and at most one attempt. The counters in the step names move
    // in the same order on every replay, so the names repeat exactly.
    for (;;) {
      const gate = await this.checkBreakers();
      // Branches on a stored step result: a replay takes the same one.
      if (gate.verdict === "block") return this.finish("blocked", blockedMessage(gate, config.breakers.dayBlockUsd));
      if (gate.verdict === "halt") {
        if (await this.haltUntilRaised(gate)) continue;
        return this.finish("halted", haltedMessage(gate));
      }
      await this.init();

      const ready = await this.step.do(`readiness #${this.checks}`, READINESS_STEP, (ctx) =>
        executorStep(ctx, () =>
          readReadiness(this.db, {
            config,
            clientFor: this.clientFor,
            repo: p.repo,
            fetchable: p.source !== undefined,
            now: Date.now(),
          }),
        ),
      );
      if (!ready.ok) return this.finish("failed", `the executor could not be asked what it can run: ${ready.message}`);
      if (p.executor !== undefined && this.attempt === 0) {
        const direct = this.directWanted(ready.value);
        if (!direct)
          return this.finish(
            "failed",
            `the executor has no direct profile for ${p.executor}; set 'direct' in its profiles.json`,
          );
        this.wanted = direct;
      }

      // The pick reads the clock (cooldowns end) and the chooser reads D1, so both run inside the
      // step: a replay reads the stored choice back.
      const chosen = await this.choose(gate, ready.value);

      if (chosen.kind === "top") {
        const ceilingWhy = chosen.ceilingReached ? this.ceiling?.why : undefined;
        // Nothing could run for setup reasons alone: no human can fix that, the configuration can.
        if (ceilingWhy === undefined && ((!this.modelRan && !this.passedCooling) || !p.climb))
          return this.finish("failed", nothingRanMessage(this.aside, chosen.passed, this.lastError));
        const answer = await this.askHuman(humanAsk(ceilingWhy, this.lastError));
        if (answer === null) return this.finish("needs_human", noHumanMessage(ceilingWhy));
        if (answer.decision === "approve") return this.finish("succeeded", null);
        if (answer.decision === "reject") return this.finish("failed", `rejected by ${answer.actor}`);
        // retry: a chosen profile runs as chosen, and climbs past any ceiling; without one the ladder
        // starts again (an auto task asks the chooser again).
        this.wanted = answer.profile
          ? { from: answer.profile, forced: true }
          : { from: config.ladder[0] ?? "human", forced: false };
        this.ceiling = undefined;
        this.consult = !answer.profile && this.chooses();
        this.instructions = answer.instructions;
        continue;
      }

      const profile = chosen.profile;
      const outcome = await this.runAttempt(profile, gate);
      // The outcome is built from stored step results: a replay sees the same.
      if (!outcome.ran) return this.finish("failed", outcome.message);
      const w = outcome.written;
      if (w.ok && outcome.job) return this.succeed(outcome.job, w);
      this.lastError = `${profile}: ${w.errorMessage ?? w.errorKind ?? w.status}`;
      const next = this.afterFailure(profile, w);
      if ("end" in next) return this.finish("failed", next.end);
      this.wanted = next;
      if (w.status !== "interrupted") {
        this.interruptedInARow = 0;
        this.notStartedInARow = 0;
      }
      if (!p.climb && this.wanted.from !== profile && w.status !== "skipped")
        return this.finish("failed", `${profile} failed: ${w.errorMessage ?? w.errorKind ?? w.status}`);
    }
  }

  /**
   * Where the next attempt starts after a failed one (the next breaker check and pick decide), or why
   * the task ends here.
   */
  private afterFailure(profile: ProfileName, w: Written): Wanted | { end: string } {
    switch (w.status) {
      case "interrupted":
        return this.afterInterrupted(profile, w);
      case "budget":
        // The run stopped at the task's remaining budget: the next breaker check halts the task.
        return { from: profile, forced: true };
      case "skipped":
        // The executor found it could not run (a late setup problem): aside, and climb from it.
        this.aside[profile] = `not ready: ${w.errorMessage ?? "setup"}`;
        return { from: profile, forced: false };
      default:
        if (w.errorKind === "auth") {
          // Refused credentials say nothing about the model: aside for this task, climb on.
          this.aside[profile] = `the provider refused its credentials: ${w.errorMessage ?? "auth"}`;
        } else this.modelRan = true;
        return { from: nextRung(this.config.ladder, profile), forced: false };
    }
  }

  /**
   * The executor restarted under the attempt: not the model's fault, so the same profile again. Only a
   * run that started counts toward the limit (a job that never left the queue is simply sent again).
   * Past the limit an `auto` task climbs; a pinned one ends failed rather than run a rung nobody chose.
   */
  private afterInterrupted(profile: ProfileName, w: Written): Wanted | { end: string } {
    if (!w.started) {
      if (++this.notStartedInARow <= MAX_NOT_STARTED_REDISPATCH) return { from: profile, forced: true };
      return {
        end: `the executor restarted ${this.notStartedInARow} times in a row before ${profile}'s run could start; find out why it keeps restarting, then replay the task`,
      };
    }
    if (++this.interruptedInARow <= MAX_INTERRUPTED_REDISPATCH) return { from: profile, forced: true };
    const times = this.interruptedInARow;
    this.interruptedInARow = 0;
    if (this.pinned)
      return {
        end: `${profile} was interrupted ${times} times in a row (the executor restarted under each run); a task that names its profile does not climb because of restarts: replay it once the executor is stable`,
      };
    return { from: nextRung(this.config.ladder, profile), forced: false };
  }

  private async checkBreakers(): Promise<BreakerCheck> {
    const { db, config, p } = this;
    return this.step.do(`breaker-check #${++this.checks}`, DB_STEP, () =>
      checkBreakers(db, config.breakers, { taskId: p.taskId, capUsd: this.capUsd }, Date.now()),
    );
  }

  private async init(): Promise<void> {
    if (this.started) return;
    await this.step.do("init", DB_STEP, () => initTask(this.db, this.p.taskId, Date.now()));
    this.started = true;
  }

  private chooses(): boolean {
    return this.p.profile === AUTO && this.p.executor === undefined;
  }

  /** `choose #k`: the chooser (when asked) and the ladder's pick; keeps the choice for the climb. */
  private async choose(gate: BreakerCheck, ready: Readiness): Promise<Chosen> {
    const { config, p } = this;
    // Copied before the step: its closure must not see fields that change after it.
    const input = {
      baseFor: this.baseFor,
      lastAttempt: this.attempt,
      ladder: config.ladder,
      wanted: this.wanted,
      standing: this.standing(gate, ready),
      climb: p.climb,
      ...(this.consult ? { consult: { taskId: p.taskId, kind: p.kind, capUsd: gate.capUsd } } : {}),
      ...(this.ceiling ? { stopAfter: this.ceiling.stopAfter } : {}),
      thresholds: config.breakers,
    };
    const chosen = await this.step.do(`choose #${this.checks}`, DB_STEP, () =>
      chooseRung(this.db, { ...input, now: Date.now() }),
    );
    this.notePasses(chosen.passed);
    const c = chosen.choice;
    if (input.consult) this.consult = false;
    if (c) {
      this.ceiling = c.stopAfter && c.ceilingWhy ? { stopAfter: c.stopAfter, why: c.ceilingWhy } : undefined;
      if (chosen.kind === "run") this.note = { attempt: this.attempt + 1, text: c.note };
    }
    return chosen;
  }

  private standing(gate: BreakerCheck, ready: Readiness): Standing {
    return { cooling: gate.cooling, aside: { ...this.aside }, ready };
  }

  /** The first attempt of a direct run: the CLI's configured profile (or consensus), as named. */
  private directWanted(ready: Readiness): Wanted | null {
    const choice = this.p.executor;
    if (choice === "consensus") return { from: "consensus", forced: true };
    const profile = choice === undefined ? undefined : ready.direct[choice];
    return profile ? { from: profile, forced: true } : null;
  }

  private baseFor = (attempt: number, profile: ProfileName): StageBase => ({
    taskId: this.p.taskId,
    attempt,
    kind: this.p.kind,
    profile,
    ...(this.note?.attempt === attempt ? { note: this.note.text } : {}),
  });

  private notePasses(passed: readonly (Pass & { attempt: number })[]): void {
    for (const pass of passed) {
      if (pass.aside) this.aside[pass.profile] = pass.why;
      else {
        // A rung resting after failures elsewhere: a human may still want to decide.
        this.passedCooling = true;
        this.lastError = `${pass.profile}: ${pass.why}`;
      }
    }
    this.attempt += passed.length;
  }

  /**
   * dispatch → wait for the callback → (poll if none came) → write. No step holds a request open.
   * Each executor-facing step answers a final failure as data (`AttemptFailure`); an exception that
   * leaves a step here is D1 or a bug, and run() lets it error the instance.
   */
  private async runAttempt(profile: ProfileName, gate: BreakerCheck): Promise<AttemptOutcome> {
    const { db, config, step, p } = this;
    const n = ++this.attempt;
    const base = this.baseFor(n, profile);
    const budgetLeft = gate.capUsd - gate.taskCostUsd;
    const dispatched = await step.do(`dispatch ${profile} #${n}`, dispatchStep(config.jobTimeoutMs), (ctx) =>
      executorStep(ctx, () =>
        dispatchJob(db, {
          clientFor: this.clientFor,
          config,
          params: p,
          base,
          instructions: this.instructions,
          budgetLeftUsd: budgetLeft,
          fetchable: p.source !== undefined,
          now: Date.now(),
        }),
      ),
    );
    if (!dispatched.ok) return this.attemptFailed(base, dispatched);
    // The executor chosen for a retried dispatch stopped heartbeating: run it again elsewhere.
    if ("leaseExpired" in dispatched.value) return this.leaseLost(base, dispatched.value.executorId, null);
    const job = dispatched.value;
    const client = this.clientFor(job.executorUrl);
    // A retried dispatch may find the job already finished: then there is nothing to wait for.
    if (!isFinished(job)) {
      const waited = await awaitResult(step, {
        db,
        client,
        profile,
        attempt: n,
        jobId: job.jobId,
        executorId: job.executorId,
        config,
      });
      if (!waited.ok) return unwritten(base, waited);
      if (waited.leaseExpired) return this.leaseLost(base, job.executorId, job.jobId);
    }
    const written = await step.do(`write ${profile} #${n}`, WRITE_STEP, (ctx) =>
      executorStep(ctx, () =>
        writeJobStage(db, { client, jobId: job.jobId, base, now: Date.now(), thresholds: config.breakers }),
      ),
    );
    if (!written.ok) return unwritten(base, written);
    return { ran: true, written: written.value, job: { jobId: job.jobId, executorUrl: job.executorUrl } };
  }

  /**
   * The attempt succeeded: its work is delivered as the task asked (`deliver #n`, n = the attempt),
   * then the task ends `succeeded` whatever the delivery did. A failed delivery keeps the work (on
   * the executor, and on the task as `deliveryError` with the flag) for `vault deliver` to retry.
   */
  private async succeed(job: RanJob, w: Written): Promise<ExecuteOutput & { error: string | null }> {
    const { db, step, p } = this;
    const { jobId } = job;
    // The work is on the executor that ran the attempt.
    const client = this.clientFor(job.executorUrl);
    const delivery = p.delivery;
    // Branches on the params and a stored step result: a replay takes the same one. Nothing
    // committed (the attempt changed no file) means nothing to deliver.
    if (!delivery || !w.commit) return this.finish("succeeded", null);
    const n = this.attempt;
    const out = await step.do(`deliver #${n}`, DELIVER_STEP, (ctx) =>
      deliverWork(
        db,
        { client, taskId: p.taskId, attempt: n, jobId, delivery },
        (body) => executorStep(ctx, body),
        Date.now,
      ),
    );
    return this.finish("succeeded", null, out.ok ? [] : [DELIVERY_FAILED]);
  }

  /**
   * The executor of this attempt stopped heartbeating past the lease (workflows/lease.ts): the stage
   * is written `interrupted`, and the drive loop dispatches the same profile again, on another
   * executor, under the next attempt's job key.
   */
  private async leaseLost(base: StageBase, executorId: string, jobId: string | null): Promise<AttemptOutcome> {
    const { db, config, step } = this;
    const facts = lapsedFacts(base, { executorId, jobId, leaseMs: config.leaseMs });
    const written = await step.do(`write ${base.profile} #${base.attempt}`, DB_STEP, async () => {
      log("warn", "lease_expired", { taskId: base.taskId, attempt: base.attempt, executorId, jobId });
      return writeStage(db, facts, Date.now(), config.breakers);
    });
    return { ran: true, written, job: null };
  }

  /**
   * Nothing ran: the executor refused the job or stayed unreachable. Climbing would meet the same
   * executor, so record an `error` stage and end the task with a clear message.
   */
  private async attemptFailed(base: StageBase, failure: AttemptFailure): Promise<AttemptOutcome> {
    const { db, config, step } = this;
    const kind = stageErrorKind(failure.kind);
    const facts = errorFacts(base, kind, failure.message);
    await step.do(`write error ${base.profile} #${base.attempt}`, DB_STEP, async () => {
      log("warn", "attempt_failed", { taskId: base.taskId, attempt: base.attempt, profile: base.profile, kind });
      return writeStage(db, facts, Date.now(), config.breakers);
    });
    return { ran: false, message: `attempt ${base.attempt} (${base.profile}) could not run: ${failure.message}` };
  }

  /** Halted: no dispatch until a budget event raises the cap (then the next breaker-check decides). */
  private async haltUntilRaised(gate: BreakerCheck): Promise<boolean> {
    const { step } = this;
    const h = ++this.halts;
    const type = waitEventType("budget", h);
    await this.setStatus(`halt #${h}`, { status: "halted", error: haltedMessage(gate), waitingFor: type });
    // Parsing the stored payload is pure; an invalid one counts as no raise (the task ends halted).
    const raised = BudgetEvent.safeParse(await waitFor(step, `budget #${h}`, type, BUDGET_WAIT));
    if (!raised.success) return false;
    this.capUsd = raised.data.capUsd;
    await this.setStatus(`resume #${h}`, {
      status: this.started ? "running" : "init",
      error: null,
      budgetUsd: raised.data.capUsd,
    });
    return true;
  }

  /** The ladder's top: needs_human until a human's answer (approve / reject / retry) or the timeout. */
  private async askHuman(why: string): Promise<HumanEvent | null> {
    const { step } = this;
    const h = ++this.humans;
    const type = waitEventType("human", h);
    await this.setStatus(`await-human #${h}`, { status: "needs_human", error: why, waitingFor: type });
    // Parsing the stored payload is pure; an invalid one counts as no answer (the task ends needs_human).
    const answer = HumanEvent.safeParse(await waitFor(step, `human #${h}`, type, HUMAN_WAIT));
    if (!answer.success) return null;
    if (answer.data.decision === "retry") {
      await this.setStatus(`resume-human #${h}`, { status: "running", error: null });
    }
    return answer.data;
  }

  /** One status step (halt, await-human, resume, finish), named by the caller. */
  private setStatus(name: string, change: StatusChange) {
    const { db, config, p } = this;
    return this.step.do(name, DB_STEP, () =>
      setTaskStatus(db, { taskId: p.taskId, change, thresholds: config.breakers, now: Date.now() }),
    );
  }

  private async finish(
    status: TaskStatus,
    error: string | null,
    flags: readonly string[] = [],
  ): Promise<ExecuteOutput & { error: string | null }> {
    const { p } = this;
    const out = await this.setStatus("finish", { status, error, flags });
    return { taskId: p.taskId, status, attempts: this.attempt, flags: out.flags, error };
  }
}

/** The job's result could not be read: the task ends, and reconcile writes the stage later. */
function unwritten(base: StageBase, failure: AttemptFailure): AttemptOutcome {
  return { ran: false, message: unwrittenMessage(base, failure.message) };
}
