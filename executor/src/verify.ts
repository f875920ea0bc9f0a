/** Runs the job's verify command (argv, no shell) in the worktree after the agent. */
import type { VerifyResult } from "@vault-mcp/contract";
import type { ProcessOutcome, RunProcessOptions } from "./interfaces.ts";

const OUTPUT_TAIL = 4096;

export interface VerifyOptions {
  runProcess: (o: RunProcessOptions) => Promise<ProcessOutcome>;
  command: readonly string[];
  /** The worktree. */
  cwd: string;
  /** The run's home (HOME of the command). */
  home: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export async function runVerify({
  runProcess,
  command,
  cwd,
  home,
  timeoutMs,
  signal,
}: VerifyOptions): Promise<VerifyResult> {
  const out = await runProcess({
    argv: command,
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, LANG: "C.UTF-8", CI: "1" },
    timeoutMs,
    killGraceMs: 2_000,
    maxOutputBytes: 256 * 1024,
    ...(signal ? { signal } : {}),
  });
  const text = `${out.stdout}${out.stderr ? `\n${out.stderr}` : ""}`.trim();
  const reason = out.spawnError
    ? `could not start: ${out.spawnError}`
    : out.timedOut
      ? `killed after ${timeoutMs} ms`
      : "";
  return {
    command: [...command],
    ok: out.exitCode === 0 && !out.timedOut && !out.spawnError,
    exitCode: out.exitCode,
    durationMs: out.durationMs,
    output: [reason, text.slice(-OUTPUT_TAIL)].filter(Boolean).join("\n"),
  };
}
