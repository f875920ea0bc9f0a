/**
 * The prompt a CLI gets: the task's prompt, then its specification (`workflow spec`), then a human's
 * instructions from a `retry` decision. One function, so what the Worker checks against the limit is
 * exactly what the executor receives.
 */
import { MAX_PROMPT_CHARS } from "@vault-mcp/contract";

export function composePrompt(prompt: string, spec: string | null, instructions: string | undefined): string {
  let out = prompt;
  if (spec) out += `\n\nSpecification:\n${spec}`;
  if (instructions) out += `\n\nInstructions from the reviewer:\n${instructions}`;
  return out;
}

/** How far over the executor's prompt limit the composed prompt is (0 when it fits). */
export function promptOverflow(prompt: string, spec: string | null, instructions: string | undefined): number {
  return Math.max(0, composePrompt(prompt, spec, instructions).length - MAX_PROMPT_CHARS);
}

/** First 16 hex digits of the SHA-256 of the composed prompt: which prompt a stage ran. */
export async function promptVersion(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)]
    .slice(0, 8)
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}
