/**
 * Tokens (o200k_base, the BPE gpt-tokenizer ships) of the compressed result at each verbosity,
 * across runs built from what the real CLIs printed: the captured claude/codex/gemini fixtures in
 * executor/test/clis/fixtures (byte-identical copies of /work/shared/notes/cli/fixtures, kept in
 * the repo so the bench reproduces anywhere), parsed by the real adapters. Successes are crossed
 * with the file sets and verify results of a simple task; failures (401, 429, 500, timeout) give
 * the failure shape. Plus the consensus diff diagram, and the Worker's progress diagram (workflows/progress.ts).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { ChangedFile, CliName, RunResult, Verbosity, VerifyResult } from "@vault-mcp/contract";
import { encode } from "gpt-tokenizer/encoding/o200k_base";
import { makeAdapters } from "../executor/src/clis/index.ts";
import { compress } from "../executor/src/compress/index.ts";
import { compareRuns } from "../executor/src/consensus.ts";
import type { CompressInput, ProcessOutcome } from "../executor/src/interfaces.ts";
import { loadPrices } from "../executor/src/pricing.ts";
import { progressMermaid } from "../workflows/progress.ts";
import type { Bench, BenchFigure } from "./types.ts";

const FIXTURES = path.resolve(import.meta.dirname, "..", "executor", "test", "clis", "fixtures");
const GOAL_TOKENS = 80;

/** [cli, fixture name, stdout extension, model the job asked for, profile]. */
const SUCCESSES: [CliName, string, string, string, string][] = [
  ["claude", "claude-json-success", "json", "sonnet", "sonnet"],
  ["codex", "codex-jsonl-success", "jsonl", "gpt-5.5", "codex"],
  ["gemini", "gemini-json-success", "json", "gemini-2.5-flash", "gemini-flash"],
];
const FAILURES: [CliName, string, string, string, string][] = [
  ["claude", "claude-json-401", "json", "sonnet", "sonnet"],
  ["claude", "claude-json-429", "json", "sonnet", "sonnet"],
  ["claude", "claude-json-timeout-sigterm", "json", "sonnet", "sonnet"],
  ["codex", "codex-jsonl-500", "jsonl", "gpt-5.5", "codex"],
  ["gemini", "gemini-json-401", "json", "gemini-2.5-flash", "gemini-flash"],
  ["gemini", "gemini-json-timeout-group-sigterm", "json", "gemini-2.5-flash", "gemini-flash"],
];

/** What a simple task leaves behind: nothing (a question), one file, or a source file and its test. */
const FILE_SETS: ChangedFile[][] = [
  [],
  [{ path: "hello.txt", added: 1, deleted: 0 }],
  [
    { path: "src/app.ts", added: 12, deleted: 3 },
    { path: "src/app.test.ts", added: 30, deleted: 0 },
  ],
];
const PASS: VerifyResult = {
  command: ["npm", "test"],
  ok: true,
  exitCode: 0,
  durationMs: 900,
  output: "Tests: 11 passed, 11 total",
};
const FAIL: VerifyResult = {
  ...PASS,
  ok: false,
  exitCode: 1,
  output: "FAIL src/app.test.ts\nTests: 1 failed, 10 passed, 11 total",
};
const VERIFIES: (VerifyResult | undefined)[] = [undefined, PASS, FAIL];
const VERBOSITIES: Verbosity[] = ["summary", "mermaid", "standard", "full"];

function parseFixture(
  adapters: ReturnType<typeof makeAdapters>,
  [cli, name, ext, model]: [CliName, string, string, string, string],
): RunResult {
  const read = (suffix: string) => readFileSync(path.join(FIXTURES, `${name}${suffix}`), "utf8");
  const meta = JSON.parse(read(".meta.json")) as { exit_code: number | null; signal?: string | null; wall_ms: number };
  const outcome: ProcessOutcome = {
    exitCode: meta.exit_code,
    signal: meta.signal ?? null,
    stdout: read(`.${ext}`),
    stderr: read(".stderr.txt"),
    stdoutTruncated: false,
    stderrTruncated: false,
    // The timeout captures were killed by the capture script's timer, as the executor's would be.
    timedOut: name.includes("timeout"),
    aborted: false,
    spawnError: null,
    durationMs: meta.wall_ms,
    pid: 1,
  };
  return adapters[cli].parse(outcome, { model, cli });
}

function stats(prefix: string, values: number[], goal?: number): BenchFigure[] {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length / 2;
  const median = s.length % 2 ? (s[Math.floor(mid)] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
  const max = s[s.length - 1] ?? 0;
  return [
    { name: `${prefix} min`, value: s[0] ?? 0, unit: "tokens" },
    { name: `${prefix} median`, value: median, unit: "tokens" },
    goal === undefined
      ? { name: `${prefix} max`, value: max, unit: "tokens" }
      : { name: `${prefix} max`, value: max, unit: "tokens", goal: `< ${goal} tokens`, met: max < goal },
  ];
}

const tokens = (text: string): number => encode(text).length;

export const run: Bench = async () => {
  const adapters = makeAdapters(loadPrices());
  const base = { branch: "vault/01JDEMO", commit: "0123456789abcdef0123456789abcdef01234567" };
  const simple: CompressInput[] = [];
  for (const fixture of SUCCESSES) {
    const result = parseFixture(adapters, fixture);
    for (const files of FILE_SETS)
      for (const verify of VERIFIES)
        simple.push({ profile: fixture[4], run: result, files, ...(verify ? { verify } : {}), ...base });
  }
  const failures: CompressInput[] = FAILURES.map((f) => ({
    profile: f[4],
    run: parseFixture(adapters, f),
    files: [],
    branch: null,
    commit: null,
  }));

  const counts = Object.fromEntries(VERBOSITIES.map((v) => [v, simple.map((c) => tokens(compress(c, v)))])) as Record<
    Verbosity,
    number[]
  >;
  const failureCounts = failures.map((c) => tokens(compress(c, "mermaid")));
  const progress = [
    progressMermaid("01JDEMO7Q3K9W2M4X8Z5V6B1N0", "queued", 0, null),
    progressMermaid("01JDEMO7Q3K9W2M4X8Z5V6B1N0", "running", 2, "sonnet"),
  ].map(tokens);

  // Consensus of two real successful runs that made the same one-file change, and of two whose edits only overlap.
  const [claudeRun, codexRun] = [
    parseFixture(adapters, SUCCESSES[0] as (typeof SUCCESSES)[0]),
    parseFixture(adapters, SUCCESSES[1] as (typeof SUCCESSES)[0]),
  ];
  const helloDiff =
    "diff --git a/hello.txt b/hello.txt\nnew file mode 100644\nindex 0000000..ce01362\n--- /dev/null\n+++ b/hello.txt\n@@ -0,0 +1 @@\n+hello\n";
  const hello = FILE_SETS[1] ?? [];
  const two = FILE_SETS[2] ?? [];
  const agree = compareRuns(
    { profile: "sonnet", run: claudeRun, files: hello, diffs: { "hello.txt": helloDiff }, verify: PASS },
    { profile: "codex", run: codexRun, files: hello, diffs: { "hello.txt": helloDiff }, verify: PASS },
  );
  const partial = compareRuns(
    { profile: "sonnet", run: claudeRun, files: two, diffs: {}, verify: PASS },
    { profile: "codex", run: codexRun, files: [...hello, ...two.slice(1)], diffs: {}, verify: PASS },
  );

  const median = (v: number[]) => stats("", v)[1]?.value ?? 0;
  return {
    title: "Result compression (o200k tokens)",
    runs: `${simple.length} simple runs (${SUCCESSES.length} captured successes × ${FILE_SETS.length} file sets × ${VERIFIES.length} verify results) + ${failures.length} captured failures`,
    figures: [
      ...stats("mermaid (default)", counts.mermaid, GOAL_TOKENS),
      {
        name: "mermaid, failure shape max",
        value: Math.max(...failureCounts),
        unit: "tokens",
        goal: `< ${GOAL_TOKENS} tokens`,
        met: Math.max(...failureCounts) < GOAL_TOKENS,
      },
      { name: "summary median", value: median(counts.summary), unit: "tokens" },
      { name: "standard median", value: median(counts.standard), unit: "tokens" },
      { name: "full median", value: median(counts.full), unit: "tokens" },
      { name: "progress diagram max", value: Math.max(...progress), unit: "tokens" },
      { name: `consensus diagram (${agree.verdict})`, value: tokens(agree.mermaid), unit: "tokens" },
      { name: `consensus diagram (${partial.verdict})`, value: tokens(partial.mermaid), unit: "tokens" },
    ],
    notes: [
      `Default diagram over the simple runs: min ${Math.min(...counts.mermaid)}, median ${median(counts.mermaid)}, max ${Math.max(...counts.mermaid)} tokens; failures (${FAILURES.map((f) => f[1]).join(", ")}) max ${Math.max(...failureCounts)}.`,
      "Labels are capped in UTF-8 bytes, so hostile input cannot grow the default past ~280 bytes (≤ 170 tokens measured worst case, in the tests).",
    ],
  };
};
