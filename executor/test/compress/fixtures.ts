import type { ChangedFile, RunResult, VerifyResult } from "@vault-mcp/contract";
import type { CompressInput } from "../../src/interfaces.ts";

/** A successful claude run as the adapter normalizes the captured fixture (the mock's fixed usage). */
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

export function failed(
  kind: NonNullable<RunResult["error"]>["kind"],
  message: string,
  over: Partial<RunResult> = {},
): RunResult {
  return run({ ok: false, text: "", exitCode: 1, error: { kind, message }, ...over });
}

export const hello: ChangedFile = { path: "hello.txt", added: 1, deleted: 0 };
export const twoFiles: ChangedFile[] = [
  { path: "src/app.ts", added: 12, deleted: 3 },
  { path: "src/app.test.ts", added: 40, deleted: 0 },
];

export function input(over: Partial<CompressInput> = {}, runOver: Partial<RunResult> = {}): CompressInput {
  return {
    profile: "sonnet",
    run: run(runOver),
    files: [hello],
    branch: "vault/j1",
    commit: "0123456789abcdef0123456789abcdef01234567",
    ...over,
  };
}

export const passing: VerifyResult = { command: ["npm", "test"], ok: true, exitCode: 0, durationMs: 900, output: "ok" };
export const failing: VerifyResult = {
  command: ["npm", "test"],
  ok: false,
  exitCode: 1,
  durationMs: 900,
  output: "FAIL src/app.test.ts\n  expected 2, got 3\nTests: 1 failed, 10 passed, 11 total\n",
};
