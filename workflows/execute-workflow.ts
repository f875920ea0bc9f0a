/**
 * One instance per `execute`. Reads as its step names:
 *   init → [breaker-check #k → dispatch <profile> #n → wait <profile> #n → (poll <profile> #n) →
 *   write <profile> #n → escalate #n]… → finish
 * with `budget #h` waits when the task cap halts it and `human #h` waits at the ladder's top.
 * Step bodies live in ./steps and are tested on their own. Code outside step.do only branches on
 * step results and event payloads, which the engine replays identically, so re-running it is safe.
 */
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep, type WorkflowStepConfig } from "cloudflare:workers";
import { getConfig } from "../worker/config.ts";
import { describe } from "../worker/errors.ts";
import { log } from "../worker/log.ts";
import { ExecutorError } from "./executor-client.ts";
import { HUMAN, nextProfile, coolingProfiles } from "./ladder.ts";
import { BUDGET_EVENT, BudgetEvent, ExecuteParams, HUMAN_EVENT, HumanEvent, resultEventType, type TaskStatus } from "./params.ts";
import { checkBreakers } from "./steps/breaker-check.ts";
import { dispatchJob } from "./steps/dispatch.ts";
import { setTaskStatus } from "./steps/finish.ts";
import { initTask } from "./steps/init.ts";
import { pollJob } from "./steps/poll.ts";
import { errorFacts, writeJobStage, writeStage, type Written } from "./steps/write.ts";

// Short D1 steps: a few quick retries.
const DB_STEP: WorkflowStepConfig = { retries: { limit: 4, delay: "1 second", backoff: "exponential" }, timeout: "30 seconds" };
// The executor may be restarting (systemd) or busy (429): retry longer.
const DISPATCH_STEP: WorkflowStepConfig = { retries: { limit: 6, delay: "2 seconds", backoff: "exponential" }, timeout: "60 seconds" };
// Polling a job whose callback never came: up to ~1 h of exponential backoff, then give up.
const POLL_STEP: WorkflowStepConfig = { retries: { limit: 10, delay: "5 seconds", backoff: "exponential" }, timeout: "30 seconds" };
const WRITE_STEP: WorkflowStepConfig = { retries: { limit: 6, delay: "2 seconds", backoff: "exponential" }, timeout: "60 seconds" };
const HUMAN_WAIT = "24 hours";
const BUDGET_WAIT = "24 hours";

export interface ExecuteOutput {
  taskId: string;
  status: TaskStatus;
  attempts: number;
  flags: string[];
}

export class ExecuteWorkflow extends WorkflowEntrypoint<Env, ExecuteParams> {
  override async run(event: WorkflowEvent<ExecuteParams>, step: WorkflowStep): Promise<ExecuteOutput> {
    // Pure: the same payload parses the same way on every replay.
    const p = ExecuteParams.parse(event.payload);
    const config = getConfig(this.env);
    const db = this.env.DB;
    const t = config.breakers;
    const ladder = config.ladder;

    const finish = async (status: TaskStatus, error: string | null, attempts: number): Promise<ExecuteOutput> => {
      const out = await step.do("finish", DB_STEP, () => setTaskStatus(db, t, p.taskId, status, error, Date.now()));
      return { taskId: p.taskId, status, attempts, flags: out.flags };
    };
    /** A wait that times out answers null instead of failing the instance. */
    const waitFor = async (name: string, type: string, timeout: WorkflowStepConfig["timeout"]): Promise<unknown> => {
      try {
        return (await step.waitForEvent(name, { type, timeout: timeout ?? "1 hour" })).payload;
      } catch {
        return null;
      }
    };

    await step.do("init", DB_STEP, () => initTask(db, p.taskId, Date.now()));

    // Loop state is derived only from step results and event payloads: replays rebuild it exactly.
    let wanted: string = p.profile === "auto" ? (ladder[0] ?? "sonnet") : p.profile;
    let capUsd = p.budgetUsd;
    let instructions: string | undefined;
    let attempt = 0;
    let checks = 0;
    let halts = 0;
    let humans = 0;

    for (;;) {
      checks += 1;
      const check = await step.do(`breaker-check #${checks}`, DB_STEP, () =>
        checkBreakers(db, t, { taskId: p.taskId, capUsd, wanted, ladder }, Date.now()),
      );
      if (check.verdict === "block") {
        return finish("blocked", `today's spend $${check.daySpentUsd.toFixed(2)} reached the $${t.dayBlockUsd} daily block; dispatch resumes after 00:00 UTC (replay the task then)`, attempt);
      }
      if (check.verdict === "halt") {
        halts += 1;
        const cap = capUsd ?? t.taskHaltUsd;
        const why = `task spend $${check.taskCostUsd.toFixed(2)} reached its $${cap} cap; raise it (workflow decide with budget, or breakers raise) to resume`;
        await step.do(`halt #${halts}`, DB_STEP, () => setTaskStatus(db, t, p.taskId, "halted", why, Date.now()));
        const raised = BudgetEvent.safeParse(await waitFor(`budget #${halts}`, BUDGET_EVENT, BUDGET_WAIT));
        if (!raised.success) return finish("halted", why, attempt);
        capUsd = raised.data.capUsd;
        await step.do(`resume #${halts}`, DB_STEP, () => setTaskStatus(db, t, p.taskId, "running", null, Date.now()));
        continue;
      }

      const profile = check.profile;
      if (profile === HUMAN) {
        humans += 1;
        await step.do(`await-human #${humans}`, DB_STEP, () =>
          setTaskStatus(db, t, p.taskId, "needs_human", "every rung of the ladder failed; approve, reject or retry with a profile (workflow decide)", Date.now()),
        );
        const answer = HumanEvent.safeParse(await waitFor(`human #${humans}`, HUMAN_EVENT, HUMAN_WAIT));
        if (!answer.success) return finish("needs_human", "no human decision within 24 hours", attempt);
        if (answer.data.decision === "approve") return finish("succeeded", null, attempt);
        if (answer.data.decision === "reject") return finish("failed", `rejected by ${answer.data.actor}`, attempt);
        wanted = answer.data.profile ?? "sonnet";
        instructions = answer.data.instructions;
        await step.do(`resume-human #${humans}`, DB_STEP, () => setTaskStatus(db, t, p.taskId, "running", null, Date.now()));
        continue;
      }

      attempt += 1;
      const base = { taskId: p.taskId, attempt, kind: p.kind, profile };
      let written: Written;
      try {
        const job = await step.do(`dispatch ${profile} #${attempt}`, DISPATCH_STEP, () => dispatchJob(db, config, p, profile, attempt, instructions));
        const woke = await waitFor(`wait ${profile} #${attempt}`, resultEventType(attempt), `${Math.ceil(config.jobTimeoutMs / 1000) + 60} seconds`);
        if (woke === null) await step.do(`poll ${profile} #${attempt}`, POLL_STEP, () => pollJob(config, job.jobId));
        written = await step.do(`write ${profile} #${attempt}`, WRITE_STEP, () => writeJobStage(db, config, job.jobId, base, Date.now()));
      } catch (err) {
        // The executor refused the job, stayed unreachable, or D1 kept failing: record an error stage
        // (best effort) and end with a clear message. Climbing would hit the same executor again.
        const message = describe(err).replace(/^Error: /, "");
        const refused = /refused the job \(HTTP (\d{3})\)/.exec(message)?.[1];
        const kind = err instanceof ExecutorError ? (err.status === null ? "unreachable" : "executor") : refused ? (refused === "401" || refused === "403" ? "auth" : "executor") : "crash";
        log("warn", "attempt_failed", { taskId: p.taskId, attempt, profile, kind });
        try {
          await step.do(`write error #${attempt}`, DB_STEP, () => writeStage(db, errorFacts(base, kind, message), Date.now()));
        } catch {
          // D1 itself is failing; the finish step below is the last word.
        }
        return finish("failed", `attempt ${attempt} (${profile}) could not run: ${message.slice(0, 500)}`, attempt);
      }
      if (written.ok) return finish("succeeded", null, attempt);
      wanted = await step.do(`escalate #${attempt}`, DB_STEP, async () => nextProfile(ladder, profile, await coolingProfiles(db, Date.now())));
    }
  }
}
