/**
 * The parser helper must be able to fail, or every "valid Mermaid" assertion is empty. These are the
 * grammar traps the flowchart builder's escaping guards against, each shown to break a diagram when
 * the raw text goes in.
 */
import { describe, expect, it } from "vitest";
import { escapeLabel } from "../../src/compress/flowchart.ts";
import { expectFlowchart, parseMermaid } from "./mermaid-parse.ts";

const node = (text: string) => `flowchart LR\n  P["${text}"] --> O{"ok"}`;

describe("the Mermaid parser helper", () => {
  it("accepts a valid flowchart and names its type", async () => {
    await expect(parseMermaid('flowchart LR\n  A["a"] --> B')).resolves.toEqual({ diagramType: "flowchart-v2" });
  });

  it.each([
    ["an unclosed label", 'flowchart LR\n  A["unclosed --> B'],
    ["a quote inside a label", 'flowchart LR\n  A["a "b" c"] --> B'],
    ["an empty quoted label", 'flowchart LR\n  A[""] --> B'],
    ["`end` as a node id", "flowchart LR\n  end --> B"],
    ["`end` as a class name", "flowchart LR\n  A:::end --> B"],
    ["a dangling arrow", "flowchart LR\n  A -->"],
    ["not a diagram", "hello world"],
  ])("rejects %s", async (_name, text) => {
    await expect(parseMermaid(text)).rejects.toThrow(/invalid Mermaid/);
  });

  it("rejects a non-flowchart where a flowchart is expected", async () => {
    await expect(expectFlowchart("sequenceDiagram\n  A->>B: hi")).rejects.toThrow(/expected a flowchart/);
  });

  it.each([
    ["a quote", 'a "quoted" word'],
    ["a newline then %%", "first line\n%% the rest is a comment"],
    ["a config directive", "%%{init: {'theme': 'dark'}}%%"],
    ["nothing at all", ""],
  ])("raw text with %s breaks a diagram; escaped it parses", async (_name, raw) => {
    await expect(parseMermaid(node(raw))).rejects.toThrow();
    await expectFlowchart(node(escapeLabel(raw)));
  });
});
