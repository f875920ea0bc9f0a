/**
 * An answer after more than 1 MiB of stdout, through the real runner and process handling: the head
 * and the tail of the output are kept, the CLI's result is parsed from the tail, and the paid answer
 * is the job's result, marked truncated, never `bad_output`. The fixture answers in each CLI's real
 * format (the captured success fixtures).
 */
import path from "node:path";
import { type CliName, JobView } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import type { Executor } from "../../src/executor.ts";
import { type Harness, harness, job, post, start } from "../server/harness.ts";

const BIG = path.join(import.meta.dirname, "..", "fixtures", "prints-big-answer.mjs");

/** The executor of the current test and its directory, stopped and removed after it. */
let current: { ex: Executor; h: Harness } | undefined;
afterEach(async () => {
  await current?.ex.shutdown().catch(() => undefined);
  current?.h.cleanup();
  current = undefined;
});

const cases: [CliName, { text: RegExp; costUsd: number; costSource: string }][] = [
  // claude: its one result line is itself 1.5 MiB; the answer is kept up to the result's text cap.
  ["claude", { text: /^BIG ANSWER a+$/, costUsd: 0.002895, costSource: "reported" }],
  // codex: 6 MiB of events before the answer; the thread id is in the head, the answer in the tail.
  [
    "codex",
    { text: /^Done: read big\.log$/, costUsd: (1800 * 1.25 + 68 * 10 + 600 * 0.125) / 1e6, costSource: "computed" },
  ],
  // gemini: its pretty-printed result is 1.5 MiB (thoughts count as output: 34 + 7).
  ["gemini", { text: /^BIG ANSWER a+$/, costUsd: (900 * 0.3 + 41 * 2.5 + 300 * 0.075) / 1e6, costSource: "computed" }],
];

describe("an answer after more than 1 MiB of output", () => {
  for (const [cli, want] of cases) {
    it(`${cli}: the parsed result is kept, marked truncated, and the job succeeds`, async () => {
      const h = harness({ CLAUDE_BIN: BIG, CODEX_BIN: BIG, GEMINI_BIN: BIG });
      const s = await start(h, { env: { ANTHROPIC_API_KEY: "k", OPENAI_API_KEY: "k", GEMINI_API_KEY: "k" } });
      current = { ex: s.ex, h };
      const view = JobView.parse(
        await (await post(`${s.url}/execute`, job({ profile: undefined, executor: cli }))).json(),
      );
      expect(view.result?.run.error, JSON.stringify(view.result?.run.error)).toBeUndefined();
      expect(view.status).toBe("succeeded");
      const run = view.result?.run;
      expect(run).toMatchObject({ ok: true, cli, truncated: true, costSource: want.costSource });
      expect(run?.text).toMatch(want.text);
      expect(run?.costUsd).toBeCloseTo(want.costUsd, 10);
      expect(run?.sessionId).toBeTruthy();
    });
  }
});
