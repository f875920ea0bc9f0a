/** Free-form task storage in KV (the `task` tool): small JSON or text values under validated keys. */
import { z } from "zod";
import { AppError } from "../../core/errors.ts";

// Each message names the key: on REST the key is the whole path segment, with no field name to show.
export const KvKey = z
  .string()
  .min(1, "the key is empty")
  .max(256, "the key is longer than 256 characters")
  .regex(/^[A-Za-z0-9][A-Za-z0-9:._/-]*$/, "keys use letters, digits and : . _ / - (e.g. 'plan/auth-refactor')")
  .describe("get, put, delete: the key, e.g. 'plan/auth-refactor'.");
const MAX_KV_VALUE_BYTES = 128 * 1024;

export const KvPut = z.strictObject({
  key: KvKey,
  value: z.string().describe("Text to store (JSON is fine), up to 128 KiB."),
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(365 * 86_400)
    .optional()
    .describe("Expire after this many seconds (≥ 60)."),
});
export const KvList = z.strictObject({
  prefix: z.string().max(256).optional().describe("list: only keys starting with this."),
  cursor: z.string().max(2000).optional().describe("list: the cursor from the previous page."),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe("list: page size (default 100)."),
});

export async function kvGet(kv: KVNamespace, key: string): Promise<{ key: string; value: string }> {
  const value = await kv.get(key);
  if (value === null) throw new AppError("not_found", `no task storage key '${key}'; list keys with action 'list'`);
  return { key, value };
}

export async function kvPut(kv: KVNamespace, input: z.infer<typeof KvPut>): Promise<{ key: string; bytes: number }> {
  const bytes = new TextEncoder().encode(input.value).byteLength;
  if (bytes > MAX_KV_VALUE_BYTES)
    throw new AppError("invalid_input", `value is ${bytes} bytes; the limit is ${MAX_KV_VALUE_BYTES}`);
  await kv.put(input.key, input.value, input.ttlSeconds ? { expirationTtl: input.ttlSeconds } : undefined);
  return { key: input.key, bytes };
}

export async function kvList(
  kv: KVNamespace,
  input: z.infer<typeof KvList>,
): Promise<{ keys: string[]; cursor: string | null }> {
  const res = await kv.list({ prefix: input.prefix ?? null, cursor: input.cursor ?? null, limit: input.limit });
  return { keys: res.keys.map((k) => k.name), cursor: res.list_complete ? null : res.cursor };
}

export async function kvDelete(kv: KVNamespace, key: string): Promise<{ key: string; deleted: true }> {
  await kv.delete(key);
  return { key, deleted: true };
}
