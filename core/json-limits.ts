/**
 * Depth and size limits for the JSON we accept, checked without recursion. JSON.parse is iterative
 * in V8, but anything that walks the parsed value recursively (zod's z.json(), JSON.stringify,
 * structuredClone) overflows the stack a few thousand levels down: a checkpoint `state` nested 2,000
 * deep answered 500 `Maximum call stack size exceeded`. So every request is measured here, by a
 * loop, before anything walks it, and refused with a message that names the limit.
 */
import { z } from "zod";

/** A whole request: a REST body, an MCP message outside a tool's arguments, a tool's arguments. */
export const MAX_REQUEST_DEPTH = 100;
/** A JSON value we store for the caller (a checkpoint's `state`). */
export const MAX_VALUE_DEPTH = 64;

/**
 * True when `value` nests arrays/objects deeper than `limit` (a scalar is depth 0, `[]` and `{}`
 * are 1). Stops at the first container past the limit, so a hostile value costs at most its size.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== "object" || v === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Where a value strays from JSON (undefined, a function, NaN, a class instance), or null when it is JSON. */
function notJson(value: unknown): string | null {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v === "string" || typeof v === "boolean") continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return "a number that is not finite";
      continue;
    }
    if (Array.isArray(v)) {
      for (const child of v) stack.push(child);
      continue;
    }
    if (typeof v === "object" && [Object.prototype, null].includes(Object.getPrototypeOf(v))) {
      for (const child of Object.values(v)) stack.push(child);
      continue;
    }
    return `a value of type ${typeof v}`;
  }
  return null;
}

const encoder = new TextEncoder();

/**
 * Any JSON value (not null) of at most `maxDepth` levels and `maxBytes` of UTF-8 once serialized,
 * the depth checked first and by a loop, so nothing recursive ever sees a deeper value. It takes
 * the place of z.json(), which recurses.
 */
export function boundedJson(opts: { maxBytes: number; maxDepth?: number; what: string }) {
  const maxDepth = opts.maxDepth ?? MAX_VALUE_DEPTH;
  return z.unknown().check((ctx) => {
    const fail = (message: string): void => {
      ctx.issues.push({ code: "custom", message, input: ctx.value });
    };
    if (ctx.value === null || ctx.value === undefined) return fail(`${opts.what} must be JSON other than null`);
    if (nestsDeeperThan(ctx.value, maxDepth))
      return fail(`${opts.what} nests deeper than ${maxDepth} levels of arrays and objects (the limit); flatten it`);
    const stray = notJson(ctx.value);
    if (stray) return fail(`${opts.what} must be JSON; it holds ${stray}`);
    // Safe now: the value is at most maxDepth deep.
    const bytes = encoder.encode(JSON.stringify(ctx.value)).byteLength;
    if (bytes > opts.maxBytes)
      fail(`${opts.what} is ${bytes} bytes as JSON; the limit is ${opts.maxBytes} (${opts.maxBytes / 1024} KiB)`);
  }) as unknown as z.ZodType<z.core.util.JSONType>;
}

/** The refusal of a request nested past MAX_REQUEST_DEPTH, as the wire says it. */
export function tooDeepMessage(what: string): string {
  return `${what} nests deeper than ${MAX_REQUEST_DEPTH} levels of arrays and objects (the limit); flatten it`;
}
