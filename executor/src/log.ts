/** One JSON line per event on stdout (journald keeps it). Never pass secrets; prompts only at debug. */
export type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold: Level = "info";

export function setLogLevel(level: Level): void {
  threshold = level;
}

export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  if (order[level] < order[threshold]) return;
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), level, event, ...fields })}\n`);
}

export const debugEnabled = (): boolean => threshold === "debug";
