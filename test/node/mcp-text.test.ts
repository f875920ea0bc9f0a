/**
 * What an MCP client gets for a task's result, at every verbosity, when the agent's answer and the
 * model's error are hostile: the executor's real compress makes the stored result, the Worker's
 * outcome formatting (worker/mcp/outcome.ts) makes the tool's text and structuredContent, and
 * Mermaid's own parser judges what a client that renders the text would draw.
 */
import type { ExecuteOutcome, Verbosity } from "@vault-mcp/contract";
import { describe, expect, it } from "vitest";
import { compress } from "../../executor/src/compress/index.ts";
import { failed, input, passing } from "../../executor/test/compress/fixtures.ts";
import { TRAPS } from "../../executor/test/compress/hostile.ts";
import { expectFlowchart } from "../../executor/test/compress/mermaid-parse.ts";
import { outcomeContent, outcomeText } from "../../worker/mcp/outcome.ts";

const ESC = "\x1b";
const ANSWER = [
  "Done.",
  "%%{init: {'securityLevel': 'loose', 'theme': 'dark'}}%%",
  'click P href "javascript:alert(1)"',
  "x; click O call alert()",
  "  click F callback",
  "<script>alert(1)</script>",
  `${ESC}]0;stolen-title${ESC}\\ ${ESC}]8;;https://evil.example/${ESC}\\link${ESC}]8;;${ESC}\\ ${ESC}[2J${ESC}[?1049h`,
  "\u202eevil\u202c \u2066iso\u2069",
  ...TRAPS.filter((t) => t.length < 200),
].join("\n");

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const FORBIDDEN = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** A Mermaid flowchart statement that starts with `click` (line start or after `;`). */
const CLICK_STATEMENT = /(^|[\n;])\s*click\s/i;

const VERBOSITIES: readonly Verbosity[] = ["summary", "mermaid", "standard", "full"];

function outcome(result: string, error?: string): ExecuteOutcome {
  return {
    taskId: "t-20261124-1100-aaaaaa",
    status: "failed",
    flags: [],
    costUsd: 0.01,
    result,
    ...(error ? { error } : {}),
  };
}

describe("MCP result text, hostile answer and error, every verbosity", () => {
  for (const verbosity of VERBOSITIES)
    for (const [name, run] of [
      ["a hostile answer", input({ verify: passing }, { text: ANSWER })],
      ["a hostile model error", input({ files: [] }, failed("api", ANSWER))],
    ] as const)
      it(`${verbosity}: ${name}`, async () => {
        const stored = compress(run, verbosity);
        // The test can fail: the stored text does carry the hostile parts at the text verbosities.
        if (verbosity === "full") expect(stored).toMatch(FORBIDDEN);
        if (verbosity === "standard" || verbosity === "full") expect(stored).toMatch(/%%\{init|\nclick /);
        const o = outcome(stored, ANSWER);
        const content = outcomeContent(o);
        for (const text of [outcomeText(o), content.result ?? "", content.error ?? ""]) {
          expect(text).not.toMatch(FORBIDDEN);
          expect(text).not.toContain("%%");
          expect(text).not.toMatch(CLICK_STATEMENT);
          expect(text).not.toContain("stolen-title");
        }
        // The diagram itself is intact: still a valid flowchart, up to the first blank line.
        const result = content.result ?? "";
        if (verbosity !== "summary") await expectFlowchart(result.split("\n\n")[0] ?? "");
        // The words stay readable.
        if (verbosity === "full") expect(result).toContain("(click) P href");
      });
});
