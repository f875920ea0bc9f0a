import type { CliName } from "@vault-mcp/contract";
import type { CliAdapter } from "../interfaces.ts";
import type { PriceTable } from "../pricing.ts";
import { claude } from "./claude.ts";
import { makeCodex } from "./codex.ts";
import { makeGemini } from "./gemini.ts";

export type AdapterRegistry = Readonly<Record<CliName, CliAdapter>>;

export function makeAdapters(prices: PriceTable): AdapterRegistry {
  return { claude, codex: makeCodex(prices), gemini: makeGemini(prices) };
}
