/**
 * Failover in the executor pool: an executor SIGKILLed while it runs a job, and the time until that
 * job runs again on another executor (its lease lapses, the attempt is written interrupted and
 * dispatched again under the next job key). Real processes: wrangler dev and three executors joined
 * by heartbeat; the killed one is started again before the next kill.
 */

import { allSucceeded, setDrained, startPool, startTask, taskDetail, until } from "./pool-stack.ts";
import { percentile } from "./stats.ts";
import type { BenchReport } from "./types.ts";

const LEASE_MS = 4_000;
const HEARTBEAT_MS = 500;
const KILLS = 10;

export async function run(): Promise<BenchReport> {
  const e = await startPool(LEASE_MS, HEARTBEAT_MS);
  try {
    const all = e.stack.executors;
    const ids = all.map((x) => x.id);
    await allSucceeded(e, await Promise.all(ids.map(() => startTask(e, "write:w.txt"))));
    const failover: number[] = [];
    const lines: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const victim = all[k % all.length];
      if (!victim) throw new Error("no executor");
      // Only the victim is open when the job is dispatched; the others open again before the kill.
      for (const id of ids) await setDrained(e, id, id !== victim.id);
      const taskId = await startTask(e, "sleep:3000 write:f.txt");
      await until("the job to run on the victim", async () =>
        (await taskDetail(e, taskId)).stages.find((s) => s.jobId && s.executorId === victim.id),
      );
      for (const id of ids) await setDrained(e, id, false);
      await victim.stop("SIGKILL");
      const killedAt = Date.now();
      const again = await until(
        "the job to run again elsewhere",
        async () => {
          const d = await taskDetail(e, taskId);
          return d.stages.find((s) => s.attempt > 1 && s.jobId && s.executorId && s.executorId !== victim.id);
        },
        6 * LEASE_MS,
      );
      const ms = Date.now() - killedAt;
      failover.push(ms);
      lines.push(`  kill ${k + 1}: ${victim.id} → ${again.executorId} in ${ms} ms`);
      await victim.start();
      await allSucceeded(e, [taskId]);
    }
    const p50 = percentile(failover, 50);
    const max = Math.max(...failover);
    return {
      title: "Executor pool: failover",
      runs: `${KILLS} SIGKILLs of the executor running a job (3 executors, lease ${LEASE_MS / 1000} s, heartbeat every ${HEARTBEAT_MS} ms)`,
      figures: [
        {
          name: "SIGKILL → job running elsewhere p50",
          value: p50,
          unit: "ms",
          goal: `≤ ${2 * LEASE_MS} ms (2 × lease)`,
          met: p50 <= 2 * LEASE_MS,
        },
        {
          name: "SIGKILL → job running elsewhere max",
          value: max,
          unit: "ms",
          goal: `≤ ${2 * LEASE_MS} ms (2 × lease)`,
          met: max <= 2 * LEASE_MS,
        },
      ],
      notes: [
        "Measured from the SIGKILL to the task's next attempt having a job on another executor (its stage read through the REST API every 50 ms). The floor is the lease itself: the Worker cannot tell a dead executor from a slow one sooner; past it come the next sweep (any executor's heartbeat, at most one a second), the instance's wake, the write of the lost attempt and the next dispatch.",
        "The lease and heartbeat are shortened here (4 s, 500 ms, as in the e2e suite) to keep 10 kills within the bench's time; the deployed defaults (EXECUTOR_LEASE_MS 15 s, HEARTBEAT_MS 3 s) take the same path, so the time grows with the lease.",
      ],
      summary: lines,
    };
  } finally {
    await e.stop();
  }
}
