/** Cost from tokens × a price table (a config file) for CLIs that report no cost of their own. */
import { readFileSync } from "node:fs";
import type { Tokens } from "@vault-mcp/contract";
import { z } from "zod";

const Price = z.strictObject({ input: z.number().nonnegative(), output: z.number().nonnegative(), cacheRead: z.number().nonnegative(), cacheWrite: z.number().nonnegative() });
export const PriceTable = z.object({ default: Price, models: z.record(z.string(), Price) });
export type PriceTable = z.infer<typeof PriceTable>;

export const DEFAULT_PRICES_FILE = new URL("../config/prices.json", import.meta.url);

export function loadPrices(file: string | URL = DEFAULT_PRICES_FILE): PriceTable {
  return PriceTable.parse(JSON.parse(readFileSync(file, "utf8")));
}

/**
 * `inputIncludesCache`: OpenAI and Gemini count cached tokens inside the input figure; Anthropic
 * reports them separately.
 */
export function computeCost(prices: PriceTable, model: string, t: Tokens, inputIncludesCache: boolean): number {
  const p = prices.models[model] ?? prices.default;
  const uncached = inputIncludesCache ? Math.max(0, t.input - t.cacheRead) : t.input;
  const usd = (uncached * p.input + t.output * p.output + t.cacheRead * p.cacheRead + t.cacheWrite * p.cacheWrite) / 1_000_000;
  return Math.round(usd * 1e8) / 1e8;
}
