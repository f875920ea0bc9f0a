/**
 * What usage costs. `priceUsage` is the one way every path turns tokens into USD: a run that ended
 * and reported its usage, a run that was killed (its session log), the budget watch, a run a restart
 * cut short. A model the CLI priced itself at its list price (claude's `costUSD`, `costBasis: "list"`)
 * keeps that figure; every other model is priced with the table (config/prices.json, USD per million
 * tokens): codex and gemini report no cost, and claude guesses for a model it does not know (DeepSeek
 * behind ANTHROPIC_BASE_URL, `costBasis: "unknown"`). The table's entries for the models claude
 * prices are claude's own list prices, so a claude run priced from its session log (killed, cut
 * short) costs what claude would have reported for the same tokens.
 */
import { readFileSync } from "node:fs";
import type { RunResult, Tokens } from "@vault-mcp/contract";
import { z } from "zod";
import type { ModelTokens } from "./tokens.ts";

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

/** One model's usage, and what the CLI said it cost when it priced it at its own list price. */
export interface UsageToPrice extends ModelTokens {
  reportedUsd?: number;
}

/**
 * The cost of a run's usage, each model at its own price (rounded to 1e-8): `reported` when the CLI
 * priced every model itself, else `computed`. No usage costs 0 (`computed`).
 */
export function priceUsage(
  prices: PriceTable,
  usage: readonly UsageToPrice[],
): Pick<RunResult, "costUsd" | "costSource"> {
  let usd = 0;
  let reported = usage.length > 0;
  for (const m of usage) {
    if (m.reportedUsd === undefined) reported = false;
    usd += m.reportedUsd ?? computeCost(prices, m.model, m.tokens);
  }
  return { costUsd: Math.round(usd * 1e8) / 1e8, costSource: reported ? "reported" : "computed" };
}
