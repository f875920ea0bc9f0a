/**
 * killOrphans against real processes: what a recorded run left running is killed, a process that
 * merely has a recorded pid (the kernel reused it: another start time) or another run's marker never is.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { ProcessRecord } from "../../src/jobs/store.ts";
import { bootId, killOrphans, processRecord, RUN_MARKER, startTicksOf } from "../../src/process/orphans.ts";
import { childEnv, fixture, isLive } from "./helpers.ts";

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** A detached process that sleeps for ever, as a CLI runs (own group), with `env` on top. */
async function sleeper(env: Record<string, string> = {}): Promise<number> {
  const child = spawn(fixture("hangs"), [], {
    env: childEnv(env),
    detached: true,
    stdio: ["ignore", "pipe", "ignore"],
  });
  started.push(child);
  await new Promise<void>((r) => child.stdout?.once("data", () => r()));
  return child.pid as number;
}

const ticks = (pid: number) => startTicksOf(readFileSync(`/proc/${pid}/stat`, "utf8")) as number;

describe("killOrphans", () => {
  it("kills the recorded process when its start time matches, and whatever carries its run's marker", async () => {
    const leader = await sleeper();
    const child = await sleeper({ [RUN_MARKER]: "j-1-a" });
    const records = [processRecord("j-1", "j-1-a", leader, bootId())];
    expect(records[0]?.startTicks).toBe(ticks(leader));
    const { killed, survivors } = await killOrphans(records);
    expect(new Set(killed)).toEqual(new Set([leader, child]));
    expect(survivors).toEqual([]);
    expect([leader, child].filter(isLive)).toEqual([]);
  });

  it("never kills a pid that is another process now (another start time), another run's, or of another boot", async () => {
    const reused = await sleeper();
    const otherRun = await sleeper({ [RUN_MARKER]: "j-2" });
    const records: ProcessRecord[] = [
      { jobId: "j-1", run: "j-1", pgid: reused, startTicks: ticks(reused) - 1, bootId: bootId() },
      { jobId: "j-3", run: "j-3", pgid: 1, startTicks: ticks(otherRun), bootId: "another-boot" },
    ];
    expect(await killOrphans(records, 500)).toEqual({ killed: [], survivors: [] });
    expect([reused, otherRun].every(isLive)).toBe(true);
  });

  it("a marked process older than its run's record is not the run's (its marker value was reused)", async () => {
    const older = await sleeper({ [RUN_MARKER]: "j-4" });
    await new Promise((r) => setTimeout(r, 30));
    const records: ProcessRecord[] = [
      { jobId: "j-4", run: "j-4", pgid: 999_999, startTicks: ticks(older) + 2, bootId: bootId() },
    ];
    expect(await killOrphans(records, 500)).toEqual({ killed: [], survivors: [] });
    expect(isLive(older)).toBe(true);
  });
});
