/** The adapter for each CLI the executor drives. Costs that a CLI does not report come from `prices`. */
import type { CliName } from "@vault-mcp/contract";
import type { CliAdapter } from "../interfaces.ts";
import { loadPrices, type PriceTable } from "../pricing.ts";
import { makeClaude } from "./claude.ts";
import { makeCodex } from "./codex.ts";
import { makeGemini } from "./gemini.ts";

export type AdapterRegistry = Readonly<Record<CliName, CliAdapter>>;

export function makeAdapters(prices: PriceTable = loadPrices()): AdapterRegistry {
  return Object.freeze({ claude: makeClaude(prices), codex: makeCodex(prices), gemini: makeGemini(prices) });
}

export { makeClaude, makeCodex, makeGemini };
