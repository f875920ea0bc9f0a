/** Tokens (o200k) of the compressed result per verbosity, across runs built from the real CLIs' captured outputs. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { encode } from "gpt-tokenizer/encoding/o200k_base";
import type { CliName, Verbosity } from "@vault-mcp/contract";
import { makeAdapters } from "../executor/src/clis/index.ts";
import { compress } from "../executor/src/compress/index.ts";
import type { ProcessOutcome } from "../executor/src/interfaces.ts";
import { loadPrices } from "../executor/src/pricing.ts";
import { percentile } from "./local-d1.ts";
import type { BenchReport } from "./types.ts";

const FIX = path.resolve(import.meta.dirname, "..", "executor", "test", "clis", "fixtures");
const CASES: [CliName, string, string][] = [
  ["claude", "claude-json-success", "json"],
  ["claude", "claude-json-401", "json"],
  ["claude", "claude-json-429", "json"],
  ["codex", "codex-jsonl-success", "jsonl"],
  ["codex", "codex-jsonl-500", "jsonl"],
  ["gemini", "gemini-json-success", "json"],
  ["gemini", "gemini-json-401", "json"],
];

export async function run(): Promise<BenchReport> {
  const adapters = makeAdapters(loadPrices());
  const counts: Record<Verbosity, number[]> = { summary: [], mermaid: [], standard: [], full: [] };
  for (const [cli, name, ext] of CASES) {
    const meta = JSON.parse(readFileSync(path.join(FIX, `${name}.meta.json`), "utf8")) as { exit_code: number | null; wall_ms: number };
    const outcome: ProcessOutcome = { exitCode: meta.exit_code, signal: null, stdout: readFileSync(path.join(FIX, `${name}.${ext}`), "utf8"), stderr: readFileSync(path.join(FIX, `${name}.stderr.txt`), "utf8"), stdoutTruncated: false, stderrTruncated: false, timedOut: false, aborted: false, spawnError: null, durationMs: meta.wall_ms, pid: 1 };
    const run = adapters[cli].parse(outcome, { model: cli === "codex" ? "gpt-5.5" : cli === "gemini" ? "gemini-2.5-flash" : "sonnet", cli });
    for (const files of [[{ path: "hello.txt", added: 1, deleted: 0 }], [{ path: "src/app.ts", added: 12, deleted: 3 }, { path: "src/app.test.ts", added: 30, deleted: 0 }]]) {
      for (const v of Object.keys(counts) as Verbosity[]) {
        counts[v].push(encode(compress({ profile: cli === "claude" ? "sonnet" : cli, run, files, verify: { command: ["npm", "test"], ok: true, exitCode: 0, durationMs: 900, output: "ok" }, branch: "vault/j", commit: "0123456789abcdef" }, v)).length);
      }
    }
  }
  const m = counts.mermaid;
  return {
    title: "Result compression (o200k tokens)",
    runs: `${m.length} runs: ${CASES.length} captured CLI outputs × 2 file sets`,
    figures: [
      { name: "mermaid (default) min", value: Math.min(...m), unit: "tokens" },
      { name: "mermaid (default) median", value: percentile(m, 50), unit: "tokens" },
      { name: "mermaid (default) max", value: Math.max(...m), unit: "tokens", goal: "< 80", met: Math.max(...m) < 80 },
      { name: "summary median", value: percentile(counts.summary, 50), unit: "tokens" },
      { name: "standard median", value: percentile(counts.standard, 50), unit: "tokens" },
      { name: "full median", value: percentile(counts.full, 50), unit: "tokens" },
    ],
  };
}
