/**
 * Compresses a finished run for the orchestrator's context:
 *   summary  one line: outcome · profile model · files · cost · verify (· error)
 *   mermaid  the default: a flowchart of outcome, profile/model, files, cost, verify or the error,
 *            < 80 o200k tokens for a simple run (bench/executor-mermaid.bench.ts measures it)
 *   standard the diagram + the first lines of the answer, the file list with +/-, the branch
 *   full     everything (answer, all files up to 200, tokens, duration, error, verify log), ≤ 16 KiB
 * Everything in compress/ uses ECMAScript globals only (no Node APIs, no TextEncoder), so the
 * Worker can bundle it; test/compress/purity.test.ts runs a bundle of it in an empty vm context.
 */
import type { Verbosity } from "@vault-mcp/contract";
import type { Compress } from "../interfaces.ts";
import { runMermaid } from "./mermaid.ts";
import { normalize } from "./normalize.ts";
import { full, standard, summaryLine } from "./text.ts";

export { FULL_CAP_BYTES } from "./text.ts";

export const compress: Compress = (input, verbosity: Verbosity) => {
  const view = normalize(input);
  switch (verbosity) {
    case "summary":
      return summaryLine(view);
    case "mermaid":
      return runMermaid(view);
    case "standard":
      return standard(view);
    case "full":
      return full(view);
    default: {
      // A verbosity added to the contract must be handled here; until then, the default view.
      const unknown: never = verbosity;
      void unknown;
      return runMermaid(view);
    }
  }
};
