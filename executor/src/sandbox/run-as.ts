/**
 * Starting a process as an agent identity, and cleaning up after one.
 *
 * `setpriv` (util-linux, on every Debian) execs the program in place, so the pid, the process group
 * and the kill-on-timeout of process/run.ts stay what they were. Before the exec it sets real,
 * effective and saved uid and gid, drops every supplementary group, clears the inheritable and
 * ambient capability sets and sets no_new_privs. The ambient set matters under systemd: the
 * executor is not root there and holds CAP_SETUID/SETGID/KILL as ambient capabilities, which a
 * plain setuid() between two non-root users would keep and pass on through execve, letting the agent
 * switch back to the executor's user. Node's own `spawn({uid, gid})` cannot clear them.
 */
import path from "node:path";
import { which } from "../health.ts";
import type { ProcessOutcome, RunProcessOptions } from "../interfaces.ts";
import { log } from "../log.ts";
import { liveProcessesOf } from "../process/orphans.ts";
import { type AgentIdentity, SandboxSetupError } from "./identities.ts";
import type { AgentPrograms } from "./stage.ts";

export type RunProcess = (o: RunProcessOptions) => Promise<ProcessOutcome>;

export interface RunAsTools {
  setpriv: string;
  /** procps `kill`, for `kill -KILL -1` as the identity. */
  kill: string;
  chmod: string;
  runProcess: RunProcess;
  /** Where the identities find the CLIs and node (stage.ts); set once the sandbox has started. */
  programs?: AgentPrograms;
}

export function asIdentity(setpriv: string, id: AgentIdentity, argv: readonly string[]): string[] {
  return [
    setpriv,
    `--reuid=${id.uid}`,
    `--regid=${id.gid}`,
    "--clear-groups",
    "--inh-caps=-all",
    "--ambient-caps=-all",
    "--no-new-privs",
    "--",
    ...argv,
  ];
}

function notStarted(message: string): ProcessOutcome {
  return {
    exitCode: null,
    signal: null,
    stdout: "",
    stderr: "",
    stdoutTruncated: false,
    stderrTruncated: false,
    timedOut: false,
    aborted: false,
    spawnError: message,
    durationMs: 0,
    pid: null,
  };
}

/**
 * procps kill's "every process I can" (kill(-1): as an identity, exactly its own processes). It reads
 * `-s KILL -1`, and `-s KILL -- -1`, as options and kills nothing.
 */
export const KILL_ALL = ["-KILL", "-1"] as const;

/** setpriv's own words when the program could not be executed (ENOENT, EACCES for the identity). */
const EXEC_FAILED = /^setpriv: failed to execute .*$/m;

/**
 * runProcess as `id`. A program that is missing, or that the identity may not execute, comes back as
 * a spawnError exactly like an unsandboxed spawn's ENOENT/EACCES, so a setup problem never reads as
 * a model failure.
 */
export async function runAs(tools: RunAsTools, id: AgentIdentity, opts: RunProcessOptions): Promise<ProcessOutcome> {
  const [program, ...args] = opts.argv;
  if (program === undefined || program === "") return notStarted("empty argv");
  // Resolved here, with the child's PATH (as spawn would), so the identity execs a fixed path.
  const resolved = await which(program, opts.env.PATH ?? "");
  if (resolved === null) return notStarted(`ENOENT: spawn ${program} ENOENT`);
  // The copy the identity can reach, when the executor's own path to it is closed to other users.
  const exe = tools.programs ? await tools.programs.program(resolved) : resolved;
  const env = tools.programs ? { ...opts.env, PATH: tools.programs.path(opts.env.PATH ?? "") } : opts.env;
  const out = await tools.runProcess({ ...opts, env, argv: asIdentity(tools.setpriv, id, [exe, ...args]) });
  const failed = (out.exitCode === 126 || out.exitCode === 127) && EXEC_FAILED.exec(out.stderr);
  return failed ? { ...out, spawnError: failed[0].replace(/^setpriv: /, ""), exitCode: null } : out;
}

/**
 * Kills every process the identity still has: one that escaped the CLI's process group with
 * setsid() would otherwise live on into the slot's next run. kill(-1) as the identity reaches
 * exactly its own processes, and works where /proc hides them from the executor (ProtectProc).
 */
export async function reap(tools: RunAsTools, id: AgentIdentity): Promise<void> {
  await tools.runProcess({
    argv: asIdentity(tools.setpriv, id, [tools.kill, ...KILL_ALL]),
    cwd: "/",
    env: { PATH: "/usr/bin:/bin" },
    timeoutMs: 5_000,
    killGraceMs: 1_000,
    maxOutputBytes: 4096,
  });
}

/**
 * Kills every process of the identity and waits until /proc shows none alive (zombies run nothing);
 * returns how many there were. For start-up, when a killed executor may have left a CLI running as
 * it: that run would spend on, and could read the worktree of the next job given the slot. Throws
 * SandboxSetupError when one is still alive after `limitMs`. Where /proc hides other users'
 * processes (ProtectProc) none are seen; kill(-1) as the identity still reaches every one.
 */
export async function killAllOf(tools: RunAsTools, id: AgentIdentity, limitMs: number): Promise<number> {
  const deadline = Date.now() + limitMs;
  let alive = await liveProcessesOf(id.uid);
  const found = alive.length;
  if (found > 0) log("warn", "agent_leftovers_killed", { identity: id.name, pids: alive.slice(0, 20) });
  for (;;) {
    await reap(tools, id);
    if (alive.length === 0) return found;
    if (Date.now() > deadline)
      throw new SandboxSetupError(
        `agent sandbox: ${id.name} still runs pid ${alive.join(", ")} after kill -KILL; stop it (pkill -KILL -u ${id.name}) and start again`,
      );
    await new Promise((r) => setTimeout(r, 20));
    alive = await liveProcessesOf(id.uid);
  }
}

/**
 * Makes what the identity created under `dir` readable and removable by the executor (user and group
 * rwX), for when an agent took the group's rights away (chmod 700, a restrictive umask). Run as the
 * identity, which owns those files; entries the executor owns are already fine, so chmod's
 * complaints about them are expected and ignored.
 */
export async function fixPermissions(tools: RunAsTools, id: AgentIdentity, dir: string): Promise<void> {
  await tools.runProcess({
    argv: asIdentity(tools.setpriv, id, [tools.chmod, "-R", "u+rwX,g+rwX", "--", path.resolve(dir)]),
    cwd: "/",
    env: { PATH: "/usr/bin:/bin", LANG: "C" },
    timeoutMs: 120_000,
    killGraceMs: 1_000,
    maxOutputBytes: 64 * 1024,
  });
}
