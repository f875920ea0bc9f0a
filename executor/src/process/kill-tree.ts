/**
 * Process-group signalling. Every child we spawn is `detached` (its own session and process group,
 * pgid = pid), so one `kill(-pgid)` reaches the CLI and everything it forked: gemini's relaunched
 * child and codex's native binary survive a kill of the leader alone (notes/cli/README.md §5).
 * A process that calls setsid() itself escapes the group; systemd's KillMode=control-group is the
 * backstop for that.
 */
import { readdir, readFile } from "node:fs/promises";

/** Sends `signal` to the whole group. False when the group no longer exists (ESRCH). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if (isErrno(err, "ESRCH")) return false;
    // EPERM: a member changed credentials (setuid helper). We cannot signal it, but it is alive.
    if (isErrno(err, "EPERM")) return true;
    throw err;
  }
}

/**
 * True while the group has a member that is not a zombie. `kill(-pgid, 0)` alone counts zombies,
 * and an orphaned zombie stays until init reaps it (PID 1 in a container may never do that), so on
 * Linux the answer is confirmed from /proc. A group that kill(0) finds but /proc shows nothing of is
 * another user's (an agent identity) hidden by ProtectProc=invisible: alive, until kill(0) says not.
 */
export async function isGroupAlive(pgid: number): Promise<boolean> {
  if (!signalGroup(pgid, 0)) return false;
  const members = await groupMembers(pgid);
  // No /proc (not Linux): trust kill(0).
  if (members === null) return true;
  return members.live.length > 0 || members.zombies === 0;
}

/** Pids of the non-zombie members of `pgid` and how many are zombies, or null when /proc cannot be read. */
async function groupMembers(pgid: number): Promise<{ live: number[]; zombies: number } | null> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return null; // no /proc (not Linux): the caller trusts kill(0)
  }
  const pids = entries.filter((e) => /^\d+$/.test(e));
  const stats = await Promise.all(pids.map((pid) => readProcStat(Number(pid))));
  const members = stats.filter((s) => s !== null && s.pgrp === pgid) as ProcStat[];
  const dead = (s: ProcStat) => s.state === "Z" || s.state === "X";
  return { live: members.filter((s) => !dead(s)).map((s) => s.pid), zombies: members.filter(dead).length };
}

export interface ProcStat {
  pid: number;
  /** One letter: R, S, D, Z (zombie), T, X (dead), … */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
}

/** Parses /proc/<pid>/stat; null when the process is gone. */
async function readProcStat(pid: number): Promise<ProcStat | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null; // the process is gone (or hidden from us): not a member we can see
  }
  return parseProcStat(pid, text);
}

export function parseProcStat(pid: number, text: string): ProcStat | null {
  // The command name (field 2) is in parentheses and may itself contain spaces and ')'.
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  const [state, ppid, pgrp, session] = text.slice(close + 2).split(" ");
  if (state === undefined || ppid === undefined || pgrp === undefined || session === undefined) return null;
  return { pid, state, ppid: Number(ppid), pgrp: Number(pgrp), session: Number(session) };
}

/**
 * SIGKILLs the group until no live member is left or `limitMs` passes. Repeats the signal on each
 * poll because a member may fork between two kills. Returns whether the group is gone.
 */
export async function killGroupAndWait(pgid: number, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  let pollMs = 5;
  while (await isGroupAlive(pgid)) {
    signalGroup(pgid, "SIGKILL");
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
    pollMs = Math.min(pollMs * 2, 50);
  }
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
