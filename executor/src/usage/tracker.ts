/**
 * Follows a run's session logs as the CLI appends to them: each poll reads only the bytes added
 * since the last one and folds the complete lines into per-model usage, priced with the price table.
 * Used while a run goes (the budget monitor) and after it (a killed run's cost).
 */
import { open } from "node:fs/promises";
import path from "node:path";
import type { Tokens } from "@vault-mcp/contract";
import { isMissing, listDir } from "../fs-missing.ts";
import { type PriceTable, priceUsage } from "../pricing.ts";
import { addTokens, ZERO_TOKENS } from "../tokens.ts";
import { type ModelTokens, sumByModel, type UsageLog, type UsageReader } from "./session-logs.ts";

/** Read at most this much of one file per poll, so a burst of output cannot balloon memory. */
const MAX_READ_BYTES = 8 * 1024 * 1024;

interface Followed {
  offset: number;
  rest: string;
  reader: UsageReader;
}

export class UsageTracker {
  readonly #log: UsageLog;
  readonly #root: string;
  readonly #model: string;
  readonly #files = new Map<string, Followed>();
  #polling: Promise<ModelTokens[]> | null = null;

  constructor(log: UsageLog, home: string, defaultModel: string) {
    this.#log = log;
    this.#root = path.join(home, log.dir);
    this.#model = defaultModel;
  }

  /**
   * Usage so far, per model (empty when the CLI has logged none: no log directory or file yet). One
   * poll at a time. Rejects when a log exists but cannot be read (permissions, I/O, not a file).
   */
  poll(): Promise<ModelTokens[]> {
    this.#polling ??= this.#poll().finally(() => (this.#polling = null));
    return this.#polling;
  }

  async #poll(): Promise<ModelTokens[]> {
    const names = await listDir(this.#root, { recursive: true });
    for (const name of names.filter((n) => this.#log.file.test(n)).sort()) {
      const file = path.join(this.#root, name);
      let f = this.#files.get(file);
      if (!f) {
        f = { offset: 0, rest: "", reader: this.#log.reader(this.#model) };
        this.#files.set(file, f);
      }
      await this.#read(file, f);
    }
    return sumByModel([...this.#files.values()].flatMap((f) => f.reader.usage()));
  }

  async #read(file: string, f: Followed): Promise<void> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file, "r");
    } catch (err) {
      if (isMissing(err)) return; // listed, then removed before we opened it: nothing logged there
      throw err;
    }
    try {
      const size = (await handle.stat()).size;
      if (size <= f.offset) return;
      const buf = Buffer.alloc(Math.min(size - f.offset, MAX_READ_BYTES));
      const { bytesRead } = await handle.read(buf, 0, buf.length, f.offset);
      f.offset += bytesRead;
      const lines = (f.rest + buf.subarray(0, bytesRead).toString("utf8")).split("\n");
      // The last piece has no newline yet: the CLI is still writing it.
      f.rest = lines.pop() ?? "";
      for (const line of lines) if (line && this.#log.mayMatter(line)) f.reader.line(line);
    } finally {
      await handle.close();
    }
  }
}

export function totalTokens(usage: readonly ModelTokens[]): Tokens {
  return usage.reduce<Tokens>((t, m) => addTokens(t, m.tokens), { ...ZERO_TOKENS });
}

export interface BudgetMonitor {
  /** Stops polling and reads once more; the cost when the budget was passed, else null. */
  stop(): Promise<number | null>;
}

/** How often a run's session logs are read against its budget. */
const BUDGET_POLL_MS = 250;

export interface WatchBudgetOptions {
  tracker: UsageTracker;
  prices: PriceTable;
  budgetUsd: number;
  /** Called once, with the cost that passed the budget. */
  onOver: (costUsd: number) => void;
  /** Called at the first poll that fails (the log exists but cannot be read); polling goes on. */
  onPollFailed: (err: unknown) => void;
  /** Default BUDGET_POLL_MS. */
  everyMs?: number;
}

/**
 * Calls `onOver` once when the run's logged usage, priced, passes `budgetUsd`. A poll may finish
 * after stop() (a slow disk): its answer is then ignored, never acted on.
 */
export function watchBudget({
  tracker,
  prices,
  budgetUsd,
  onOver,
  onPollFailed,
  everyMs = BUDGET_POLL_MS,
}: WatchBudgetOptions): BudgetMonitor {
  let over: number | null = null;
  let stopped = false;
  const check = async () => {
    const cost = priceUsage(prices, await tracker.poll()).costUsd;
    if (!stopped && over === null && cost > budgetUsd) {
      over = cost;
      onOver(cost);
    }
  };
  let failed = false;
  // A poll that fails (an unreadable log) is reported once and tried again at the next tick; the
  // run's cost is settled by its own read after it ends (usage/killed-run.ts).
  const timer = setInterval(
    () =>
      void check().catch((err: unknown) => {
        if (!failed) onPollFailed(err);
        failed = true;
      }),
    everyMs,
  );
  return {
    async stop() {
      clearInterval(timer);
      stopped = true;
      return over;
    },
  };
}
