/**
 * What a killed executor left running. Each CLI runs in its own process group (run.ts), so it
 * outlives a SIGKILL of the executor (systemd's KillMode=control-group reaps it under the shipped
 * unit; nothing does in a container, on a dev machine or in the local stack). At the next start,
 * before any job runs, every process of a run the dead executor had started is killed, so its model
 * spend stops and its usage log is final when recovery reads it, and no slot is given to a new job
 * while it still runs.
 *
 * A process is the run's when it is either
 *   - the run's recorded process (the job store's ProcessRecord: pid = its group id) with the very
 *     start time recorded at spawn, in the same boot: then its whole group goes; or
 *   - a process that carries the run's marker in its environment (RUN_MARKER=<run>, inherited by
 *     everything the CLI starts), started no earlier than the run.
 * A pid the kernel gave to another process since has another start time and no marker: it is never
 * touched. As the agent identities (the sandbox on) everything of theirs is killed as well
 * (AgentSandbox.killLeftovers), which also reaches a process that left the group and cleared its env.
 */
import { readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import type { ProcessRecord } from "../jobs/store.ts";
import { parseProcStat, signalGroup } from "./kill-tree.ts";

/** The variable that names a run in the environment of everything its CLI (and verify) starts. */
export const RUN_MARKER = "VAULT_EXECUTOR_RUN";

/** This boot's id ("" where the kernel has none to read). */
export function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return ""; // not Linux: no record will match, so nothing is ever killed on its strength
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot. */
export function startTicksOf(statText: string): number | null {
  const close = statText.lastIndexOf(")");
  if (close < 0) return null;
  // Fields from 3 on, after the command name: field 22 is at index 19.
  const v = Number(statText.slice(close + 2).split(" ")[19]);
  return Number.isInteger(v) ? v : null;
}

/** The record of a process just spawned for `run` (synchronous: called from runProcess's onSpawn). */
export function processRecord(jobId: string, run: string, pid: number, boot: string): ProcessRecord {
  let startTicks = -1;
  try {
    startTicks = startTicksOf(readFileSync(`/proc/${pid}/stat`, "utf8")) ?? -1;
  } catch {
    // Gone already, or no /proc: -1 never matches a live process, so it is only evidence the run began.
  }
  return { jobId, run, pgid: pid, startTicks, bootId: boot };
}

interface Live {
  pid: number;
  pgrp: number;
  startTicks: number;
}

/** The real uid on /proc/<pid>/status's `Uid:` line (null: gone, or hidden from us). */
async function realUid(pid: number): Promise<number | null> {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null; // gone since the listing
  }
}

/**
 * The live (non-zombie) processes of `uid` that /proc shows. Where /proc hides other users'
 * processes (systemd's ProtectProc=invisible) it shows none: there the unit's KillMode has killed
 * them with the executor.
 */
export async function liveProcessesOf(uid: number): Promise<number[]> {
  const out: number[] = [];
  for (const p of await liveProcesses()) if ((await realUid(p.pid)) === uid) out.push(p.pid);
  return out;
}

/** Every live (non-zombie) process /proc shows us, with its group and start time. */
async function liveProcesses(): Promise<Live[]> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return []; // no /proc: nothing can be matched, so nothing is killed
  }
  const out: Live[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    let text: string;
    try {
      text = await readFile(`/proc/${e}/stat`, "utf8");
    } catch {
      continue; // gone since the listing
    }
    const stat = parseProcStat(Number(e), text);
    const startTicks = startTicksOf(text);
    if (!stat || startTicks === null || stat.state === "Z" || stat.state === "X") continue;
    out.push({ pid: stat.pid, pgrp: stat.pgrp, startTicks });
  }
  return out;
}

/** The run named by the process's RUN_MARKER, or null (none, or its environment is not ours to read). */
async function markerOf(pid: number): Promise<string | null> {
  try {
    const env = await readFile(`/proc/${pid}/environ`, "utf8");
    const found = env.split("\0").find((kv) => kv.startsWith(`${RUN_MARKER}=`));
    return found ? found.slice(RUN_MARKER.length + 1) : null;
  } catch {
    return null; // another user's process (or gone): not one we started
  }
}

/** The live processes that belong to the recorded runs (see the module comment). */
async function orphansOf(records: readonly ProcessRecord[], boot: string): Promise<{ pid: number; leader: boolean }[]> {
  const mine = records.filter((r) => r.bootId === boot && boot !== "" && r.startTicks >= 0);
  if (mine.length === 0) return [];
  const leaders = new Map(mine.map((r) => [r.pgid, r]));
  const firstStart = new Map<string, number>();
  for (const r of mine) firstStart.set(r.run, Math.min(firstStart.get(r.run) ?? r.startTicks, r.startTicks));
  const out: { pid: number; leader: boolean }[] = [];
  for (const p of await liveProcesses()) {
    if (leaders.get(p.pid)?.startTicks === p.startTicks) {
      out.push({ pid: p.pid, leader: true });
      continue;
    }
    const run = await markerOf(p.pid);
    const since = run === null ? undefined : firstStart.get(run);
    if (since !== undefined && p.startTicks >= since) out.push({ pid: p.pid, leader: false });
  }
  return out;
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Gone meanwhile (ESRCH), or not ours to signal (EPERM): the next scan says whether it lives on.
  }
}

/**
 * Kills what the recorded runs left running and waits until /proc shows none of it alive (zombies
 * do not count: they run nothing). Returns the pids it killed and those still alive at `limitMs`.
 */
export async function killOrphans(
  records: readonly ProcessRecord[],
  limitMs = 10_000,
): Promise<{ killed: number[]; survivors: number[] }> {
  const boot = bootId();
  const killed = new Set<number>();
  const deadline = Date.now() + limitMs;
  for (;;) {
    const found = await orphansOf(records, boot);
    if (found.length === 0) return { killed: [...killed], survivors: [] };
    if (Date.now() > deadline) return { killed: [...killed], survivors: found.map((f) => f.pid) };
    for (const f of found) {
      // A verified leader's whole group is the run's: what it started without the marker goes too.
      if (f.leader) signalGroup(f.pid, "SIGKILL");
      kill(f.pid);
      killed.add(f.pid);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
