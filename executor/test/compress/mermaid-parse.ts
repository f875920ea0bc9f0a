/**
 * Mermaid's own parser in Node 22, for tests. `mermaid.parse` needs no layout or rendering, only
 * DOMPurify (labels are sanitized while parsing), and DOMPurify binds to `globalThis.window` when
 * it is first imported: without it, importing mermaid fails with "DOMPurify.addHook is not a
 * function". So the minimal setup is one global, `window`, from a jsdom document, set before the
 * dynamic import (document, DOMParser, Element… are reached through it and are not needed as
 * globals; checked by removing them one by one).
 */
import { JSDOM } from "jsdom";

type Parse = (text: string) => Promise<{ diagramType: string }>;
let loading: Promise<Parse> | null = null;

async function load(): Promise<Parse> {
  const g = globalThis as { window?: unknown };
  g.window ??= new JSDOM("<!doctype html><html><body></body></html>").window;
  const { default: mermaid } = await import("mermaid");
  // Without suppressErrors, parse throws Mermaid's own error for an invalid diagram.
  return async (text) => ({ diagramType: (await mermaid.parse(text)).diagramType });
}

/** Resolves with the diagram type for valid Mermaid; rejects with Mermaid's error (and the diagram) otherwise. */
export async function parseMermaid(text: string): Promise<{ diagramType: string }> {
  loading ??= load();
  const parse = await loading;
  try {
    return await parse(text);
  } catch (err) {
    throw new Error(`invalid Mermaid: ${err instanceof Error ? err.message : String(err)}\n--- diagram ---\n${text}`, {
      cause: err,
    });
  }
}

/** Asserts a valid *flowchart* (every diagram we emit is one). */
export async function expectFlowchart(text: string): Promise<void> {
  const { diagramType } = await parseMermaid(text);
  if (!diagramType.startsWith("flowchart")) throw new Error(`expected a flowchart, got ${diagramType}\n${text}`);
}
