import type { ChangedFile, RunResult, VerifyResult } from "@vault-mcp/contract";
import type { CompressInput } from "../../src/interfaces.ts";

export function run(over: Partial<RunResult> = {}): RunResult {
  return {
    ok: true,
    cli: "claude",
    text: "Done: created hello.txt",
    exitCode: 0,
    signal: null,
    durationMs: 1234,
    costUsd: 0.002895,
    costSource: "reported",
    tokens: { input: 1200, output: 34, cacheRead: 300, cacheWrite: 50 },
    model: "claude-sonnet-5-5",
    sessionId: "s",
    truncated: false,
    ...over,
  };
}

export function input(over: Partial<CompressInput> = {}, runOver: Partial<RunResult> = {}): CompressInput {
  const files: ChangedFile[] = [{ path: "hello.txt", added: 1, deleted: 0 }];
  return { profile: "sonnet", run: run(runOver), files, branch: "vault/j1", commit: "0123456789abcdef", ...over };
}

export const passing: VerifyResult = { command: ["npm", "test"], ok: true, exitCode: 0, durationMs: 900, output: "ok" };
export const failing: VerifyResult = { command: ["npm", "test"], ok: false, exitCode: 1, durationMs: 900, output: "1 failing" };
