/** Tables, figures and the two task views, from fixed data (no clock, no Worker). */

import type { TaskDetail, TaskView } from "@vault-mcp/contract";
import { describe, expect, it } from "vitest";
import { renderBreakers } from "../src/commands/breakers.ts";
import { renderTaskTable } from "../src/commands/tasks-list.ts";
import { describeCommand, renderTaskDetail } from "../src/commands/tasks-show.ts";
import {
  age,
  asked,
  count,
  duration,
  money,
  oneLine,
  paint,
  runsText,
  status,
  table,
  truncate,
  visibleLength,
} from "../src/format.ts";

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);

function task(over: Partial<TaskView> = {}): TaskView {
  return {
    id: "t-20261124-1100-aaaaaa",
    status: "needs_human",
    kind: "general",
    repo: "demo",
    ref: null,
    profile: "auto",
    verbosity: "mermaid",
    verify: null,
    budgetUsd: null,
    spec: null,
    prompt: "Create hello.txt with a greeting\nand nothing else",
    costUsd: 0.0123,
    attempts: 2,
    modelRuns: 2,
    flags: [],
    result: null,
    error: "every rung of the ladder failed",
    replayOf: null,
    executor: null,
    climb: true,
    waitingFor: null,
    createdAt: NOW - 3_600_000,
    updatedAt: NOW - 3_000_000,
    closedAt: null,
    ...over,
  };
}

describe("figures", () => {
  it("money: four decimals under a dollar, two above", () => {
    expect(money(0.002895)).toBe("$0.0029");
    expect(money(0)).toBe("$0.0000");
    expect(money(12.5)).toBe("$12.50");
  });

  it("durations, ages and counts", () => {
    expect([950, 1500, 61_000, 3_600_000 + 120_000].map(duration)).toEqual(["950ms", "1.5s", "1m01s", "1h02m"]);
    expect(
      [NOW - 5_000, NOW - 600_000, NOW - 7_200_000, NOW - 5 * 86_400_000, NOW + 1000].map((t) => age(t, NOW)),
    ).toEqual(["5s ago", "10m ago", "2h ago", "5d ago", "0s ago"]);
    expect([999, 1200, 45_000, 2_500_000].map(count)).toEqual(["999", "1.2k", "45k", "2.5M"]);
  });

  it("truncate folds whitespace; oneLine makes one line", () => {
    expect(truncate("a\n  b   c", 10)).toBe("a b c");
    expect(truncate("abcdefghij", 5)).toBe("abcd…");
    expect(oneLine("first\n  second\nthird")).toBe("first second third");
  });
});

describe("table", () => {
  it("pads columns to the widest cell, right-aligns the numeric ones, trims line ends", () => {
    expect(
      table(
        ["ID", "COST", "NOTE"],
        [
          ["a", "$1.00", ""],
          ["long-id", "$12.50", "x"],
        ],
        [1],
      ).split("\n"),
    ).toEqual(["ID         COST  NOTE", "a         $1.00", "long-id  $12.50  x"]);
  });

  it("colour codes take no width, and colour is off unless asked for", () => {
    const red = status("failed", true);
    expect(red).toBe("\x1b[31mfailed\x1b[0m");
    expect(visibleLength(red)).toBe(6);
    expect(status("failed", false)).toBe("failed");
    expect(paint("x", null, true)).toBe("x");
    expect(
      table(
        ["S", "N"],
        [
          [red, "1"],
          ["ok", "2"],
        ],
      ).split("\n")[1],
    ).toBe(`${red}  1`);
  });
});

describe("tasks list table", () => {
  it("one row per task; the REPLAY OF column only when a task is a replay", () => {
    const plain = renderTaskTable([task()], NOW, false).split("\n");
    expect(plain[0]).toMatch(/^ID\s+STATUS\s+ASKED\s+RUNS\s+COST\s+CREATED\s+FLAGS\s+PROMPT$/);
    expect(plain[1]).toMatch(
      /^t-20261124-1100-aaaaaa\s+needs_human\s+profile auto\s+2\s+\$0\.0123\s+1h ago\s+Create hello\.txt with a greeting and no…$/,
    );
    const withReplay = renderTaskTable(
      [task(), task({ id: "t-20261124-1130-bbbbbb", replayOf: "t-20261124-1100-aaaaaa", flags: ["task_warn"] })],
      NOW,
      false,
    ).split("\n");
    expect(withReplay[0]).toContain("REPLAY OF");
    expect(withReplay[2]).toMatch(/t-20261124-1130-bbbbbb .* t-20261124-1100-aaaaaa\s+task_warn/);
  });

  it("what was asked, as asked; RUNS counts attempts where a model ran, not skipped rungs", () => {
    const direct = task({ executor: "claude", climb: false, attempts: 3, modelRuns: 1 });
    const row = renderTaskTable([direct], NOW, false).split("\n")[1] ?? "";
    expect(row).toMatch(/needs_human\s+executor claude\s+1\s+\$0\.0123/);
    // The row keeps profile auto beside an executor either way: `climb` says whether the caller asked for it.
    expect(asked({ executor: "claude", profile: "auto", climb: false })).toBe("executor claude");
    expect(asked({ executor: "claude", profile: "auto", climb: true })).toBe("executor claude, climbs");
    expect(asked({ executor: null, profile: "sonnet" })).toBe("profile sonnet");
    expect(runsText(1, 3)).toBe("1 model run (2 rungs without one)");
    expect(runsText(2, 2)).toBe("2 model runs");
  });
});

describe("tasks show", () => {
  const result = 'flowchart LR\n  P["sonnet claude-sonnet-5-5"] --> O{"ok"}';
  const detail: TaskDetail = {
    task: task({ status: "succeeded", error: null, result, flags: ["task_warn"], replayOf: "t-20261124-1000-cccccc" }),
    stages: [
      {
        id: "t-20261124-1100-aaaaaa:1",
        taskId: "t-20261124-1100-aaaaaa",
        jobId: "j-1",
        branch: null,
        commit: null,
        createdAt: NOW - 300_000,
        attempt: 1,
        profile: "deepseek",
        cli: "claude",
        model: "deepseek-chat",
        status: "failed",
        costUsd: 0,
        tokensIn: 0,
        tokensOut: 0,
        latencyMs: 850,
        errorKind: "server_error",
        errorMessage: "API Error: 500",
        note: "chose deepseek for kind general: no runs of this kind yet, so the ladder's first rung",
      },
      {
        id: "t-20261124-1100-aaaaaa:2",
        taskId: "t-20261124-1100-aaaaaa",
        jobId: "j-2",
        createdAt: NOW - 200_000,
        attempt: 2,
        profile: "sonnet",
        cli: "claude",
        model: "claude-sonnet-5-5",
        status: "succeeded",
        costUsd: 0.0123,
        tokensIn: 1200,
        tokensOut: 34,
        latencyMs: 4200,
        errorKind: null,
        errorMessage: null,
        branch: "vault/j-2",
        commit: "0123456789abcdef0123",
        filesChanged: 1,
        verifyOk: true,
      },
    ],
    decisions: [
      {
        id: "d-1",
        taskId: "t-20261124-1100-aaaaaa",
        kind: "human",
        decision: "retry",
        rationale: "use sonnet",
        actor: "vault-cli:ops",
        createdAt: NOW - 120_000,
      },
    ],
    breakers: { dayBlocked: false, monthFlagged: true },
    consensus: null,
    progress: null,
  };
  const opts = { color: false, now: NOW, workerUrl: "http://127.0.0.1:28787" };

  it("stages with cost, tokens, latency and error; total; flags; decisions; the describe line", () => {
    const text = renderTaskDetail(detail, opts);
    const lines = text.split("\n");
    expect(lines[0]).toBe("t-20261124-1100-aaaaaa  succeeded  $0.0123 total  flags: task_warn, month_flagged");
    expect(lines[1]).toBe(
      "repo demo · profile auto · kind general · 2 model runs · created 1h ago · replay of t-20261124-1000-cccccc",
    );
    expect(text).toMatch(
      /#\s+PROFILE\s+CLI\s+MODEL\s+STATUS\s+COST\s+TOKENS IN\s+OUT\s+LATENCY\s+FILES\s+VERIFY\s+KIND/,
    );
    expect(text).toMatch(/1\s+deepseek\s+claude\s+deepseek-chat\s+failed\s+\$0\.0000\s+0\s+0\s+850ms\s+server_error\n/);
    // Each stage's words, whole, under the table: why the chooser ran it, then why it failed.
    expect(text).toContain(
      "why:\n  #1 deepseek: chose deepseek for kind general: no runs of this kind yet, so the ladder's first rung\n  #1 deepseek: API Error: 500\n",
    );
    expect(text).toMatch(
      /2\s+sonnet\s+claude\s+claude-sonnet-5-5\s+succeeded\s+\$0\.0123\s+1\.2k\s+34\s+4\.2s\s+1\s+pass\n/,
    );
    expect(text).toContain("2 stages, $0.0123\nwork: branch vault/j-2 @ 0123456789ab on the executor (attempt 2)");
    expect(text).toMatch(/2m ago\s+human\s+retry — use sonnet \(vault-cli:ops\)/);
    expect(lines.at(-1)).toBe(
      "npx wrangler workflows instances describe execute-workflow t-20261124-1100-aaaaaa --local --port 28787",
    );
  });

  it("the result only when asked for, as the MCP client got it; no Mermaid is drawn or parsed", () => {
    expect(renderTaskDetail(detail, opts)).not.toContain("flowchart");
    expect(renderTaskDetail(detail, { ...opts, result: true })).toContain(
      `result (as the MCP client got it):\n${result}\n`,
    );
  });

  it("asked for a CLI: says so; skipped rungs are not model runs; a running task's progress", () => {
    const skipped = {
      ...(detail.stages[0] as TaskDetail["stages"][number]),
      status: "skipped" as const,
      errorKind: "setup",
      cli: "none",
    };
    const running: TaskDetail = {
      ...detail,
      task: task({ status: "running", executor: "claude", climb: false, error: null }),
      stages: [skipped],
      progress: { attempt: 2, text: "attempt 1 (deepseek) skipped; attempt 2 under way" },
    };
    const text = renderTaskDetail(running, opts);
    expect(text.split("\n")[1]).toMatch(
      /^repo demo · executor claude · kind general · 0 model runs \(1 rung without one\)/,
    );
    expect(text).toContain("progress: attempt 1 (deepseek) skipped; attempt 2 under way\n");
    expect(text).not.toContain("profile auto");
  });

  it("a consensus run: verdict, then its files by group", () => {
    const text = renderTaskDetail(
      {
        ...detail,
        consensus: {
          attempt: 2,
          verdict: "partial",
          profiles: ["sonnet", "codex"],
          answerSimilarity: 0.71,
          fileAgreement: [
            { path: "src/app.ts", same: true },
            { path: "src/util.ts", same: false },
          ],
          filesOnlyA: ["README.md"],
          filesOnlyB: [],
          verify: [true, null],
        },
      },
      opts,
    );
    expect(text).toContain(
      [
        "consensus (attempt 2): partial, answers 71% alike · sonnet vs codex · verify pass/–",
        "  same         src/app.ts",
        "  differ       src/util.ts",
        "  only sonnet  README.md",
      ].join("\n"),
    );
  });

  it("the describe line has --local --port only for a local Worker", () => {
    expect(describeCommand("t-1", "http://localhost:38787")).toBe(
      "npx wrangler workflows instances describe execute-workflow t-1 --local --port 38787",
    );
    expect(describeCommand("t-1", "https://vault.example.workers.dev")).toBe(
      "npx wrangler workflows instances describe execute-workflow t-1",
    );
  });
});

describe("breakers view", () => {
  it("shows both periods and says what to do about a block or a flag", () => {
    const text = renderBreakers(
      {
        day: { scope: "day:2026-11-24", spentUsd: 20.5, limitUsd: 20, runs: 40, state: "block" },
        month: { scope: "month:2026-11", spentUsd: 81, limitUsd: 80, runs: 300, state: "flag", acknowledgedAt: null },
        blocked: true,
        flagged: true,
        thresholds: { taskWarnUsd: 2, taskHaltUsd: 5, dayBlockUsd: 20, monthFlagUsd: 80 },
      },
      false,
    );
    expect(text).toMatch(/today\s+\$20\.50\s+\$20\.00\s+40\s+BLOCKED until 00:00 UTC/);
    expect(text).toMatch(/month\s+\$81\.00\s+\$80\.00\s+300\s+FLAGGED: vault breakers --ack/);
    expect(text).toContain("per task: warns at $2.00, halts at $5.00");
  });
});
