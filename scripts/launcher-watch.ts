/**
 * `npm start` is npm → sh -c → node scripts/start.ts, and the stack's processes (wrangler, workerd,
 * the executor) run in sessions of their own so a Ctrl-C reaches only start.ts, which stops them in
 * order. Killing npm alone (SIGKILL, or SIGTERM, which npm passes to `sh` only) would leave
 * start.ts, and so the whole stack and its three ports, running. So start.ts watches the processes
 * that launched it and stops the stack when one of them is gone.
 *
 * "Gone" is read from parenthood, not pids: when a launcher dies its child is re-parented (to init
 * or a subreaper), so a changed parent pid says so without any risk from a reused pid.
 */
import { readFileSync } from "node:fs";

/** The parent pid of `pid` from /proc (Linux); null where /proc is not there or the process is gone. */
export function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null; // not Linux, or the process is gone: the caller treats both as "cannot tell"
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

const SHELLS = new Set(["sh", "dash", "bash", "zsh", "ash", "busybox"]);

/**
 * The launch chain to watch, as child → parent links: ours to our parent and, when that parent is
 * the shell npm runs scripts with, the shell's to npm. A chain link breaking means a launcher died.
 */
export function launchChain(self = process.pid, parent = process.ppid): { child: number; parent: number }[] {
  const links = [{ child: self, parent }];
  const grand = parentOf(parent);
  if (grand !== null && grand > 1 && SHELLS.has(commOf(parent))) links.push({ child: parent, parent: grand });
  return links;
}

/**
 * Calls `onGone` once, with what happened, when a process of the launch chain has died. Checks
 * every `intervalMs`; the timer does not keep the process alive.
 */
export function watchLaunchers(onGone: (why: string) => void, intervalMs = 500): () => void {
  const links = launchChain();
  const timer = setInterval(() => {
    for (const { child, parent } of links) {
      const now = child === process.pid ? process.ppid : parentOf(child);
      if (now !== parent) {
        clearInterval(timer);
        onGone(`the process that started it (pid ${parent}) is gone`);
        return;
      }
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
