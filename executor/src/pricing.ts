/**
 * Cost from tokens × a price table (config/prices.json, USD per million tokens) for runs whose CLI
 * reports no cost of its own (codex, gemini) or reports one it cannot know (claude pointed at a
 * non-Anthropic model such as DeepSeek prices it as `costBasis: "unknown"`).
 */
import { readFileSync } from "node:fs";
import type { Tokens } from "@vault-mcp/contract";
import { z } from "zod";

const Usd = z.number().nonnegative().finite();
const Price = z.strictObject({ input: Usd, output: Usd, cacheRead: Usd, cacheWrite: Usd });
type Price = z.infer<typeof Price>;
export const PriceTable = z.object({
  /** For models the table does not know: deliberately high, so budgets never under-count. */
  default: Price,
  models: z.record(z.string().min(1), Price),
});
export type PriceTable = z.infer<typeof PriceTable>;

const DEFAULT_PRICES_FILE = new URL("../config/prices.json", import.meta.url);

const VERSION_SUFFIX = /^[-@](?:\d{8}|\d{4}-\d{2}-\d{2}|\d{3}|v\d+|latest)$/;

export class PriceTableError extends Error {
  override readonly name = "PriceTableError";
}

export function loadPrices(file: string | URL = DEFAULT_PRICES_FILE): PriceTable {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new PriceTableError(
      `cannot read the price table ${String(file)}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const r = PriceTable.safeParse(raw);
  if (!r.success)
    throw new PriceTableError(
      `invalid price table ${String(file)}: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  return r.data;
}

/**
 * The price of a model: its exact entry, else the entry it extends by a date or version suffix only
 * (`claude-sonnet-5-5-20260101`, `gemini-2.5-flash-001`), else the default. Other suffixes name
 * other models (`gpt-5-pro` is not `gpt-5`), so they get the deliberately high default.
 */
export function priceFor(prices: PriceTable, model: string): { price: Price; known: boolean } {
  const exact = prices.models[model];
  if (exact) return { price: exact, known: true };
  let best: string | null = null;
  for (const key of Object.keys(prices.models)) {
    if (
      model.startsWith(key) &&
      VERSION_SUFFIX.test(model.slice(key.length)) &&
      (best === null || key.length > best.length)
    )
      best = key;
  }
  const prefixed = best === null ? undefined : prices.models[best];
  return prefixed ? { price: prefixed, known: true } : { price: prices.default, known: false };
}

/**
 * USD for a run's tokens, rounded to 1e-8. Tokens follow the convention of tokens.ts:
 * `input` excludes cached tokens. `inputIncludesCache` is for raw OpenAI/Gemini figures, whose input
 * still contains the cached tokens.
 */
export function computeCost(prices: PriceTable, model: string, t: Tokens, inputIncludesCache = false): number {
  const { price: p } = priceFor(prices, model);
  const uncached = inputIncludesCache ? Math.max(0, t.input - t.cacheRead - t.cacheWrite) : t.input;
  const usd =
    (uncached * p.input + t.output * p.output + t.cacheRead * p.cacheRead + t.cacheWrite * p.cacheWrite) / 1_000_000;
  return Math.round(usd * 1e8) / 1e8;
}
