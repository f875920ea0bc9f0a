/**
 * Mermaid's own parser in Node: mermaid needs a DOM (DOMPurify, d3), which jsdom provides.
 * `parseMermaid` resolves true for a valid diagram and throws Mermaid's error for an invalid one.
 */
import { JSDOM } from "jsdom";

let ready: Promise<(text: string) => Promise<unknown>> | null = null;

async function load(): Promise<(text: string) => Promise<unknown>> {
  const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
  const g = globalThis as Record<string, unknown>;
  g.window = dom.window;
  g.document = dom.window.document;
  g.DOMParser = dom.window.DOMParser;
  g.Element = dom.window.Element;
  g.HTMLElement = dom.window.HTMLElement;
  g.SVGElement = dom.window.SVGElement;
  g.Node = dom.window.Node;
  const { default: mermaid } = await import("mermaid");
  mermaid.initialize({ startOnLoad: false });
  return (text: string) => mermaid.parse(text);
}

export async function parseMermaid(text: string): Promise<unknown> {
  ready ??= load();
  return (await ready)(text);
}
