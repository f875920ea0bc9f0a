/**
 * Usage the CLIs write to their session logs while they run, one model response at a time (checked
 * against the pinned CLIs): the only usage a run that is killed (timeout, budget, shutdown) leaves
 * behind, since claude's result JSON and codex's turn.completed come only at the very end.
 *
 *   claude  $CLAUDE_CONFIG_DIR/projects/<cwd>/<session>.jsonl: one `assistant` line per content block,
 *           `message.usage` final once the response is complete (same `message.id`: the last wins)
 *   codex   $CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl: `event_msg` / `token_count` after each
 *           response, `info.total_token_usage` cumulative for the session (not written with --ephemeral)
 *   gemini  $GEMINI_CLI_HOME/.gemini/tmp/<project>/chats/session-*.jsonl: a `gemini` record per
 *           response with `tokens` (rewritten under the same `id` as tool calls complete)
 *
 * Tokens follow the convention of tokens.ts: `input` without the cached tokens.
 */
import type { Tokens } from "@vault-mcp/contract";
import { z } from "zod";
import { addTokens, anthropicTokens, type ModelTokens, openAiTokens, ZERO_TOKENS } from "../tokens.ts";

export type { ModelTokens };

/** Folds the lines of one session log file, in order, into per-model usage. */
export interface UsageReader {
  line(text: string): void;
  usage(): ModelTokens[];
}

export interface UsageLog {
  /** The directory under the run's home that holds the logs (searched recursively). */
  dir: string;
  /** Which files in it are session logs. */
  file: RegExp;
  /** A cheap test before a line is parsed: claude's logs also hold whole request bodies. */
  mayMatter(line: string): boolean;
  reader(defaultModel: string): UsageReader;
}

const count = z.number().int().nonnegative().catch(0);

function parse(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined; // a torn line of a killed run
  }
}

/** Per-id records (the last one wins), summed per model. */
function byId(): { set(id: string, m: ModelTokens): void; usage(): ModelTokens[] } {
  const records = new Map<string, ModelTokens>();
  return {
    set: (id, m) => void records.set(id, m),
    usage: () => sumByModel([...records.values()]),
  };
}

export function sumByModel(items: readonly ModelTokens[]): ModelTokens[] {
  const out = new Map<string, Tokens>();
  for (const { model, tokens } of items) out.set(model, addTokens(out.get(model) ?? ZERO_TOKENS, tokens));
  return [...out].map(([model, tokens]) => ({ model, tokens }));
}

const ClaudeAssistant = z.looseObject({
  type: z.literal("assistant"),
  message: z.looseObject({
    id: z.string(),
    model: z.string(),
    usage: z.looseObject({
      input_tokens: count,
      output_tokens: count,
      cache_read_input_tokens: count,
      cache_creation_input_tokens: count,
    }),
  }),
});

export const CLAUDE_USAGE_LOG: UsageLog = {
  dir: ".claude/projects",
  file: /\.jsonl$/,
  mayMatter: (line) => line.includes('"type":"assistant"'),
  reader() {
    const records = byId();
    return {
      line(text) {
        const r = ClaudeAssistant.safeParse(parse(text));
        // API errors are written as assistant lines of the model "<synthetic>": nothing was billed.
        if (!r.success || r.data.message.model === "<synthetic>") return;
        records.set(r.data.message.id, {
          model: r.data.message.model,
          tokens: anthropicTokens(r.data.message.usage),
        });
      },
      usage: records.usage,
    };
  },
};

const CodexTokenCount = z.looseObject({
  type: z.literal("event_msg"),
  payload: z.looseObject({
    type: z.literal("token_count"),
    info: z.looseObject({
      total_token_usage: z.looseObject({
        input_tokens: count,
        cached_input_tokens: count,
        cache_write_input_tokens: count,
        output_tokens: count,
      }),
    }),
  }),
});
const CodexTurnContext = z.looseObject({
  type: z.literal("turn_context"),
  payload: z.looseObject({ model: z.string() }),
});

export const CODEX_USAGE_LOG: UsageLog = {
  dir: ".codex/sessions",
  file: /^(?:.*\/)?rollout-[^/]*\.jsonl$/,
  mayMatter: (line) => line.includes('"token_count"') || line.includes('"turn_context"'),
  reader(defaultModel) {
    let model = defaultModel;
    let total: Tokens | null = null;
    return {
      line(text) {
        const json = parse(text);
        const ctx = CodexTurnContext.safeParse(json);
        if (ctx.success) model = ctx.data.payload.model;
        const tc = CodexTokenCount.safeParse(json);
        if (!tc.success) return;
        // Cumulative: the last count is the session's.
        total = openAiTokens(tc.data.payload.info.total_token_usage);
      },
      usage: () => (total === null ? [] : [{ model, tokens: total }]),
    };
  },
};

const GeminiResponse = z.looseObject({
  id: z.string(),
  type: z.literal("gemini"),
  model: z.string().optional().catch(undefined),
  tokens: z.looseObject({ input: count, output: count, cached: count, thoughts: count }),
});

export const GEMINI_USAGE_LOG: UsageLog = {
  dir: ".gemini/tmp",
  file: /(?:^|\/)chats\/[^/]*\.jsonl$/,
  mayMatter: (line) => line.includes('"type":"gemini"'),
  reader(defaultModel) {
    const records = byId();
    return {
      line(text) {
        const r = GeminiResponse.safeParse(parse(text));
        if (!r.success) return;
        const t = r.data.tokens;
        // Gemini's input includes the cached tokens; thoughts are billed as output.
        records.set(r.data.id, {
          model: r.data.model ?? defaultModel,
          tokens: {
            input: Math.max(0, t.input - t.cached),
            output: t.output + t.thoughts,
            cacheRead: t.cached,
            cacheWrite: 0,
          },
        });
      },
      usage: records.usage,
    };
  },
};
