/**
 * Terminal escape injection: stored text of agents, models and callers (a model API's error with a
 * window title, an OSC-8 link, clear-screen and the alternate screen; bidi overrides in a prompt)
 * reaches no terminal. The `vault` binary runs as a real process against a server answering what
 * the Worker answers, with hostile text in every text field; nothing of it may reach stdout or stderr.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { stripControls, type TaskDetail, type TaskView } from "@vault-mcp/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forTerminal } from "../src/main.ts";
import { runVault } from "./helpers.ts";

const ESC = "\x1b";
/** Each sequence a hostile text might carry, with the text around it that must stay readable. */
const HOSTILE = [
  `${ESC}]0;pwned title${ESC}\\`, // OSC set-title, ST-terminated
  `${ESC}]2;other title\x07`, // OSC set-title, BEL-terminated
  `${ESC}]8;;https://evil.example/${ESC}\\click me${ESC}]8;;${ESC}\\`, // OSC-8 link
  `${ESC}[2J${ESC}[H`, // clear screen, cursor home
  `${ESC}[?1049h`, // alternate screen
  `${ESC}[31;1mred${ESC}[0m`, // colours
  `${ESC}c`, // full reset
  `${ESC}P1$r0m${ESC}\\`, // DCS
  "\x9b2J", // 8-bit CSI
  "\x9d0;c1 title\x07", // 8-bit OSC
  "over\rwrite", // carriage return
  "\u202eevil\u202c \u2066iso\u2069 \u200fmark", // bidi overrides, isolates, marks
  "bell\x07 back\x08 del\x7f nul\x00",
].join(" ");
const hostile = (what: string) => `${what}: ${HOSTILE} end`;

/** Control, escape and bidi characters: none may reach a terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const FORBIDDEN = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const ID = "t-20261124-1100-aaaaaa";
const now = Date.now();

function view(): TaskView {
  return {
    id: ID,
    status: "failed",
    kind: "general",
    prompt: hostile("prompt"),
    repo: "demo",
    ref: null,
    profile: "auto",
    verbosity: "full",
    verify: null,
    budgetUsd: null,
    spec: hostile("spec"),
    costUsd: 0.01,
    attempts: 1,
    modelRuns: 1,
    flags: [hostile("flag")],
    result: `flowchart LR\n  A["x"]\n\nanswer: ${hostile("result")}`,
    error: hostile("task error"),
    replayOf: null,
    executor: null,
    climb: true,
    waitingFor: null,
    createdAt: now - 60_000,
    updatedAt: now,
    closedAt: null,
  };
}

function detail(): TaskDetail {
  return {
    task: view(),
    stages: [
      {
        id: `${ID}:1`,
        taskId: ID,
        attempt: 1,
        profile: "sonnet",
        cli: "claude",
        model: hostile("model"),
        status: "failed",
        costUsd: 0.01,
        tokensIn: 1,
        tokensOut: 1,
        latencyMs: 10,
        errorKind: "server_error",
        errorMessage: hostile("API Error: 500"),
        jobId: "j-1",
        branch: hostile("branch"),
        commit: "0123456789abcdef",
        filesChanged: 0,
        verifyOk: null,
        createdAt: now - 30_000,
      },
    ],
    decisions: [
      {
        id: "d-1",
        taskId: ID,
        kind: "human",
        decision: hostile("decision"),
        rationale: hostile("rationale"),
        actor: hostile("actor"),
        createdAt: now,
      },
    ],
    breakers: { dayBlocked: false, monthFlagged: false },
    consensus: {
      attempt: 1,
      verdict: "partial",
      profiles: ["sonnet", "codex"],
      answerSimilarity: 0.5,
      fileAgreement: [{ path: hostile("file"), same: false }],
      filesOnlyA: [hostile("only a")],
      filesOnlyB: [],
      verify: [null, null],
    },
    progress: { attempt: 2, text: hostile("progress") },
  };
}

describe("stripControls", () => {
  it("removes whole sequences, keeps the words around them, newlines, tabs and other scripts", () => {
    expect(stripControls(`a${ESC}]0;title${ESC}\\b`)).toBe("ab");
    expect(stripControls(`a${ESC}]8;;https://x/${ESC}\\link${ESC}]8;;${ESC}\\b`)).toBe("alinkb");
    expect(stripControls(`a${ESC}[?1049h${ESC}[2Jb`)).toBe("ab");
    expect(stripControls("a\u202eb\u2066c\u2069")).toBe("abc");
    expect(stripControls("line 1\r\nline\t2\rx")).toBe("line 1\nline\t2x");
    expect(stripControls("héllo ✓ 日本 🙂")).toBe("héllo ✓ 日本 🙂");
    // An OSC without its terminator is cut at the line's end, not the text's.
    expect(stripControls(`a${ESC}]0;never ends\nnext line`)).toBe("a\nnext line");
    expect(stripControls(hostile("x"))).not.toMatch(FORBIDDEN);
  });

  it("the CLI's last guard keeps only its own colours", () => {
    expect(forTerminal(`\x1b[31mfailed\x1b[0m ${ESC}]0;t\x07${ESC}[8mhidden`)).toBe("\x1b[31mfailed\x1b[0m hidden");
  });
});

describe("vault tasks list / show print no escape sequence of the text they show", () => {
  let srv: Server;
  let url: string;
  beforeAll(async () => {
    srv = createServer((req, res) => {
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (req.url?.startsWith("/api/tasks?") || req.url === "/api/tasks") json(200, { tasks: [view()] });
      else if (req.url === `/api/tasks/${ID}`) json(200, detail());
      else json(409, { error: { code: "conflict", message: hostile("refused") } });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => srv.close(() => r())));

  for (const args of [
    ["tasks", "list"],
    ["tasks", "list", "--json"],
    ["tasks", "show", ID],
    ["tasks", "show", ID, "--result"],
    ["tasks", "show", ID, "--json"],
    ["cooldowns", "--clear", "sonnet"],
  ])
    it(`vault ${args.join(" ")}`, async () => {
      const r = await runVault(args, { VAULT_URL: url, VAULT_AUTH_TOKEN: "t" });
      expect(r.out + r.err).not.toMatch(FORBIDDEN);
      expect(r.out + r.err).not.toContain("pwned title");
      expect(r.out + r.err).not.toContain("evil.example");
      if (args[0] === "tasks") {
        expect(r.code, r.err).toBe(0);
        // The words are still there, only the sequences are gone.
        expect(r.out).toContain(args[1] === "list" ? "prompt: " : "API Error: 500: ");
      } else {
        expect(r).toMatchObject({ code: 1, out: "" });
        expect(r.err).toContain("refused: ");
      }
    });
});
