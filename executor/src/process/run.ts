/**
 * Runs one child process (a CLI, git, a verify command) and always comes back with a ProcessOutcome:
 * spawn failures, timeouts and aborts are outcomes, not exceptions.
 *
 * Guarantees: argv goes to execve as is (no shell); the child gets exactly `opts.env`, and stdin from
 * /dev/null or, when given, `opts.stdin` followed by EOF; it runs in its own process group, and the promise settles only once that whole group is
 * gone, so nothing the CLI forked outlives the run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { ProcessOutcome, RunProcessOptions } from "../interfaces.ts";
import { CappedOutput } from "./capped-output.ts";
import { killGroupAndWait, signalGroup } from "./kill-tree.ts";

const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 5_000;
/** setTimeout fires at once for delays above 2^31-1 ms; longer timeouts are clamped to this. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** After the group is gone, how long to wait for the pipes to report EOF before closing them. */
const PIPE_DRAIN_MS = 1_000;
/** After the group is SIGKILLed, how long to keep re-killing and polling before giving up. */
const REAP_LIMIT_MS = 5_000;

type StopReason = "timeout" | "abort";

export async function runProcess(opts: RunProcessOptions): Promise<ProcessOutcome> {
  const started = performance.now();
  const stdout = new CappedOutput(opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES, opts.tailBytes);
  const stderr = new CappedOutput(opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES, opts.tailBytes);
  const outcome = (o: Partial<ProcessOutcome>): ProcessOutcome => ({
    exitCode: null,
    signal: null,
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdoutTruncated: stdout.truncated,
    stderrTruncated: stderr.truncated,
    timedOut: false,
    aborted: false,
    spawnError: null,
    durationMs: Math.round(performance.now() - started),
    pid: null,
    ...o,
  });

  if (opts.signal?.aborted) return outcome({ aborted: true });
  const [file, ...args] = opts.argv;
  if (file === undefined || file === "") return outcome({ spawnError: "empty argv" });

  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: opts.cwd,
      // A copy: Node reads the object once, and the caller's object must not be aliased.
      env: { ...opts.env },
      stdio: [opts.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      detached: true,
      shell: false,
      windowsHide: true,
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
  } catch (err) {
    // Synchronous throws are argument errors, e.g. a NUL byte in argv or env.
    return outcome({ spawnError: describe(err) });
  }

  // A child that exits without reading its input makes the write fail with EPIPE: not our error.
  child.stdin?.on("error", () => undefined);
  if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
  child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
  // A pipe error only means no more output; the exit status still arrives, so it is noted, not thrown.
  let pipeError: string | null = null;
  child.stdout?.on("error", (err) => (pipeError ??= describe(err)));
  child.stderr?.on("error", (err) => (pipeError ??= describe(err)));

  const spawned = await new Promise<{ ok: true } | { ok: false; error: string }>((resolve) => {
    child.once("spawn", () => resolve({ ok: true }));
    // Before 'spawn' this is ENOENT/EACCES; after it, Node emits 'error' only for failed
    // child.kill()/send(), which we never call, so later events are ignored by this resolved promise.
    child.on("error", (err) => resolve({ ok: false, error: describe(err) }));
  });
  if (!spawned.ok || child.pid === undefined) {
    return outcome({ spawnError: spawned.ok ? "no pid" : spawned.error });
  }
  const pid = child.pid;

  let stopReason: StopReason | null = null;
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = (reason: StopReason): void => {
    if (stopReason !== null) return;
    stopReason = reason;
    signalGroup(pid, "SIGTERM");
    graceTimer = setTimeout(() => signalGroup(pid, "SIGKILL"), opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  };
  const timeoutTimer = Number.isFinite(opts.timeoutMs)
    ? setTimeout(() => stop("timeout"), Math.max(0, Math.min(opts.timeoutMs, MAX_TIMER_MS)))
    : undefined;
  const onAbort = (): void => stop("abort");
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  let callbackError: unknown;
  try {
    opts.onSpawn?.(pid);
  } catch (err) {
    // A broken callback must not leave an unsupervised child behind: kill it, report after cleanup.
    callbackError = err;
    signalGroup(pid, "SIGKILL");
  }

  const exited = await waitForExit(child);
  clearTimeout(timeoutTimer);
  clearTimeout(graceTimer);
  opts.signal?.removeEventListener("abort", onAbort);

  // The leader is gone; anything left in its group is an orphan of this run (gemini's relaunched
  // child, codex's native binary, a background server the agent started). It gets no grace.
  await killGroupAndWait(pid, REAP_LIMIT_MS);
  await waitForPipes(child, PIPE_DRAIN_MS);

  if (callbackError !== undefined) throw callbackError;
  if (pipeError !== null) stderr.push(Buffer.from(`\n[executor: output pipe failed: ${pipeError}]\n`));
  return outcome({
    exitCode: exited.code,
    signal: exited.signal,
    timedOut: stopReason === "timeout",
    aborted: stopReason === "abort",
    pid,
  });
}

function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

/**
 * Waits for EOF on stdout and stderr. A process that escaped the group with setsid() may hold the
 * pipes open forever; after `limitMs` the streams are destroyed so the run still ends.
 */
async function waitForPipes(child: ChildProcess, limitMs: number): Promise<void> {
  const streams = [child.stdout, child.stderr].filter((s) => s !== null && !s.closed);
  if (streams.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const closed = Promise.all(streams.map((s) => new Promise<void>((resolve) => s?.once("close", () => resolve()))));
  const timedOut = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), limitMs);
  });
  const result = await Promise.race([closed, timedOut]);
  clearTimeout(timer);
  if (result === "late") for (const s of streams) s?.destroy();
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
