/** `checkpoint`, `decision` and `transcript`: one shape (create / list / get) over three D1 tables. */
import { z } from "zod";
import { parseInput } from "../../../core/errors.ts";
import {
  CheckpointCreate,
  createCheckpoint,
  createDecision,
  createTranscript,
  DecisionCreate,
  getRecord,
  ListQuery,
  listCheckpoints,
  listDecisions,
  listTranscripts,
  TranscriptCreate,
} from "../../services/records.ts";
import { flatInput } from "../flat-input.ts";
import { brief, guarded, ok, type RegisterTool, type ToolDeps } from "../tool-kit.ts";

interface RecordTool<C extends z.ZodObject> {
  name: "checkpoint" | "decision" | "transcript";
  title: string;
  description: string;
  create: C;
  insert: (deps: ToolDeps, input: z.infer<C>) => Promise<{ id: string }>;
  list: (deps: ToolDeps, q: z.infer<typeof ListQuery>) => Promise<unknown[]>;
}

function recordTool<C extends z.ZodObject>(spec: RecordTool<C>): RegisterTool {
  const Create = spec.create.extend({ action: z.literal("create") });
  const List = ListQuery.extend({ action: z.literal("list") });
  const Get = z.strictObject({
    action: z.literal("get"),
    id: z.string().min(1).max(100).describe("get: the record id."),
  });
  const Which = z.object({ action: z.enum(["create", "list", "get"]) });
  const Input = flatInput(
    "action",
    { options: [Create, List, Get] },
    "create a record, list them (newest first), or get one by id.",
  );
  return (server, deps) => {
    server.registerTool(
      spec.name,
      {
        title: spec.title,
        description: spec.description,
        inputSchema: Input,
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      },
      async (args) =>
        guarded(async () => {
          const { action } = parseInput(Which, args);
          if (action === "create") {
            const { action: _a, ...input } = parseInput(Create, args);
            const row = await spec.insert(deps, input as z.infer<C>);
            return ok(`${spec.name} ${row.id} stored`, { ...row });
          }
          if (action === "list") {
            const q = parseInput(List, args);
            const rows = await spec.list(deps, { taskId: q.taskId, limit: q.limit });
            return ok(brief(rows), { items: rows });
          }
          const { id } = parseInput(Get, args);
          const row = await getRecord(deps.env.DB, spec.name, id);
          return ok(brief(row), { ...row });
        }),
    );
  };
}

export const registerCheckpoint = recordTool({
  name: "checkpoint",
  title: "Checkpoints",
  description:
    "Saves a labelled JSON snapshot of your progress on a task (≤ 256 KiB) and lists or reads them back, newest first. Free.",
  create: CheckpointCreate,
  insert: (deps, input) => createCheckpoint(deps.env.DB, input, deps.now()),
  list: (deps, q) => listCheckpoints(deps.env.DB, q),
});

export const registerDecision = recordTool({
  name: "decision",
  title: "Decision log",
  description:
    "Records a decision and its rationale (architecture choices, accepted risks, approvals), optionally tied to a task; lists or reads them back. Free.",
  create: DecisionCreate,
  insert: (deps, input) => createDecision(deps.env.DB, input, deps.now()),
  list: (deps, q) => listDecisions(deps.env.DB, q),
});

export const registerTranscript = recordTool({
  name: "transcript",
  title: "Transcripts",
  description:
    "Full text kept beside a task: every CLI run's output is stored here by the workflow (list, then get one by id to read it); you may add notes. Text over 1 MiB is truncated. Free.",
  create: TranscriptCreate,
  insert: (deps, input) => createTranscript(deps.env.DB, input, deps.now()),
  list: (deps, q) => listTranscripts(deps.env.DB, q),
});
