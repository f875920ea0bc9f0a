import { z } from "zod";
import { parseInput } from "../../../core/errors.ts";
import { KvKey, KvList, KvPut, kvDelete, kvGet, kvList, kvPut } from "../../services/kv.ts";
import { flatInput } from "../flat-input.ts";
import { brief, guarded, ok, type RegisterTool } from "../tool-kit.ts";

const Action = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("get"), key: KvKey }),
  KvPut.extend({ action: z.literal("put") }),
  KvList.extend({ action: z.literal("list") }),
  z.strictObject({ action: z.literal("delete"), key: KvKey }),
]);

const Input = flatInput(
  "action",
  Action,
  "get, put, list or delete a value; keys look like 'plan/auth-refactor'. put takes value (≤ 128 KiB) and ttlSeconds; list takes prefix, cursor and limit.",
);

export const registerTask: RegisterTool = (server, deps) => {
  server.registerTool(
    "task",
    {
      title: "Task storage (key-value)",
      description:
        "Keeps free-form notes between calls: plans, task lists, context you want back later. get/put/list/delete on text values (≤ 128 KiB) under keys like 'plan/x'. Free; 'delete' removes a value for good.",
      inputSchema: Input,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args) =>
      guarded(async () => {
        const a = parseInput(Action, args);
        const kv = deps.env.TASKS;
        switch (a.action) {
          case "get": {
            const r = await kvGet(kv, a.key);
            return ok(r.value, r);
          }
          case "put": {
            const { action: _a, ...put } = a;
            const r = await kvPut(kv, put);
            return ok(`stored ${r.key} (${r.bytes} bytes)`, r);
          }
          case "list": {
            const { action: _a, ...list } = a;
            const r = await kvList(kv, list);
            return ok(brief(r), r);
          }
          case "delete": {
            const r = await kvDelete(kv, a.key);
            return ok(`deleted ${r.key}`, r);
          }
        }
      }),
  );
};
