/**
 * The token convention every CLI's usage is normalized to, so the Worker can add them up. A leaf
 * module: the adapters (clis/) and the session-log readers (usage/) both build on it.
 *
 *   input       prompt tokens neither read from nor written to the cache (Anthropic's `input_tokens`;
 *               OpenAI and Gemini report cached tokens inside their input figure, so they are subtracted)
 *   output      billed output tokens, reasoning/thinking included
 *   cacheRead   prompt tokens served from the cache
 *   cacheWrite  prompt tokens written to the cache (Anthropic only)
 */
import type { Tokens } from "@vault-mcp/contract";

/** One model's usage in a run (a run may call more than one model). */
export interface ModelTokens {
  model: string;
  tokens: Tokens;
}

export const ZERO_TOKENS: Readonly<Tokens> = Object.freeze({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });

/** Anthropic's usage (claude's result JSON and its session log): cache tokens are already apart. */
export function anthropicTokens(u: {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}): Tokens {
  return {
    input: u.input_tokens,
    output: u.output_tokens,
    cacheRead: u.cache_read_input_tokens,
    cacheWrite: u.cache_creation_input_tokens,
  };
}

/** OpenAI's usage (codex's turn.completed and its session log): cached tokens are inside input_tokens. */
export function openAiTokens(u: {
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
}): Tokens {
  return {
    input: Math.max(0, u.input_tokens - u.cached_input_tokens - u.cache_write_input_tokens),
    output: u.output_tokens,
    cacheRead: u.cached_input_tokens,
    cacheWrite: u.cache_write_input_tokens,
  };
}

export function addTokens(a: Tokens, b: Tokens): Tokens {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheWrite: a.cacheWrite + b.cacheWrite,
  };
}
