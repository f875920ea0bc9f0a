/**
 * A task's kind: free text from `workflow init` or `execute`, kept per kind in model_stats and read
 * by the chooser, so "Bug fix", "bug-fix" and " BUG FIX!" must be one kind.
 */
import { z } from "zod";

export const GENERAL_KIND = "general";
export const KIND_MAX_LENGTH = 40;
/** What a caller may send; normalising cuts it to KIND_MAX_LENGTH. */
const KIND_INPUT_MAX = 200;

/** `" Bug fix: CSS!! "` → `"bug-fix-css"`; empty or only punctuation → `general`. */
export function normalizeKind(text: string | undefined): string {
  const dashed = (text ?? "")
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, "-")
    .replace(/^-+/, "");
  // By code points, so a cut never splits a surrogate pair.
  return Array.from(dashed).slice(0, KIND_MAX_LENGTH).join("").replace(/-+$/, "") || GENERAL_KIND;
}

/** A kind as `workflow init`, `execute` and the chooser query take it: free text, normalised on the way in. */
export const KindText = z
  .string()
  .max(KIND_INPUT_MAX, `kind is free text up to ${KIND_INPUT_MAX} characters, e.g. 'bugfix'`)
  .optional()
  .transform((text) => normalizeKind(text))
  .describe(
    "Task kind, free text normalised to lowercase words joined by '-' (e.g. 'Bug fix' → 'bug-fix'; default 'general'). The chooser learns per kind where an auto task should start.",
  );

/** A kind to filter by (`workflow_query stats`): absent means every kind. */
export const KindFilter = z
  .string()
  .max(KIND_INPUT_MAX)
  .transform((text) => normalizeKind(text))
  .optional()
  .describe("Only this task kind (normalised like a task's kind); default: every kind.");
