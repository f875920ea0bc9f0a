/** The instance's waits: a timeout is the "nobody answered" path, any other failure is not. */
import type { WorkflowStep } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isWaitTimeout, waitFor } from "../../workflows/wait.ts";
import { expectEnded, resetBetweenTests, runTo, taskRow, useExecutor } from "./helpers.ts";

resetBetweenTests();
afterEach(() => vi.restoreAllMocks());

/** A step whose wait rejects with `err`, as the engine's RPC stub would. */
const failingStep = (err: unknown): Pick<WorkflowStep, "waitForEvent"> => ({
  waitForEvent: () => Promise.reject(err),
});

describe("waitFor", () => {
  it("the engine's own timeout (forceEventTimeout) is the no-answer path: the task ends needs_human", async () => {
    useExecutor(() => ({ errorKind: "api" }));
    const ran = await runTo({ profile: "consensus" }, (m) => m.forceEventTimeout({ name: "human #1" }));
    await expectEnded(ran, "needs_human");
    expect((await taskRow(ran.taskId)).error).toBe("no human decision within 24 hours; the ladder's last rung failed");
  });

  it("a timeout as it crosses the RPC boundary, or with its class name, is a timeout; nothing else is", () => {
    expect(isWaitTimeout(new Error("WorkflowTimeoutError: Execution timed out after 86400000ms"))).toBe(true);
    const named = new Error("Execution timed out after 1000ms");
    named.name = "WorkflowTimeoutError";
    expect(isWaitTimeout(named)).toBe(true);
    expect(isWaitTimeout(new Error("storage operation failed: timed out"))).toBe(false);
    expect(isWaitTimeout(new Error("Execution timed out after 1000ms"))).toBe(false);
    expect(isWaitTimeout("WorkflowTimeoutError")).toBe(false);
  });

  it("answers null on a timeout, and rethrows any other rejection after logging it with an event name", async () => {
    const timeout = new Error("WorkflowTimeoutError: Execution timed out after 1000ms");
    expect(await waitFor(failingStep(timeout), "human #1", "human-1", "1 second")).toBeNull();

    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const broken = new Error("the engine lost its storage");
    await expect(waitFor(failingStep(broken), "budget #2", "budget-2", "24 hours")).rejects.toBe(broken);
    const logged = errors.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(logged).toEqual([
      expect.objectContaining({ event: "wait_failed", wait: "budget #2", type: "budget-2", level: "error" }),
    ]);
    expect(String(logged[0]?.error)).toContain("the engine lost its storage");
  });
});
