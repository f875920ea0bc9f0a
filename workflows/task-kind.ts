/**
 * A task's kind: free text from `workflow init` or `execute`, kept per kind in model_stats and read
 * by the chooser, so "Bug fix", "bug-fix" and " BUG FIX!" must be one kind.
 */
export const GENERAL_KIND = "general";
export const KIND_MAX_LENGTH = 40;

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
