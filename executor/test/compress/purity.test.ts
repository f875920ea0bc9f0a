/**
 * compress/ must bundle into the Cloudflare Worker: no Node built-ins, no Node or web globals. The
 * proof is a bundle for a neutral platform (esbuild fails on any `node:` import) run inside a vm
 * context that holds nothing but the ECMAScript built-ins (no process, Buffer, TextEncoder, console).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { compress } from "../../src/compress/index.ts";
import type { CompressInput } from "../../src/interfaces.ts";
import { input } from "./fixtures.ts";

const dir = path.resolve(import.meta.dirname, "../../src/compress");

interface Bundle {
  compress: (i: CompressInput, v: string) => string;
}

describe("compress/ is pure TS", () => {
  it("imports nothing from Node", () => {
    for (const file of readdirSync(dir)) {
      expect(readFileSync(path.join(dir, file), "utf8"), file).not.toMatch(
        /from\s+["'](node:|fs|path|os|crypto|child_process)/,
      );
    }
  });

  it("bundles for a neutral platform and runs with ECMAScript globals only, giving the same output", async () => {
    const out = await build({
      entryPoints: [path.join(dir, "index.ts")],
      bundle: true,
      write: false,
      platform: "neutral",
      format: "iife",
      globalName: "compressBundle",
      logLevel: "silent",
    });
    const code = out.outputFiles[0]?.text ?? "";
    const context = vm.createContext({});
    expect(vm.runInContext("typeof process + typeof TextEncoder + typeof Buffer", context)).toBe(
      "undefinedundefinedundefined",
    );
    const bundle = vm.runInContext(`${code}; compressBundle`, context) as Bundle;
    const big = input({}, { text: "😀".repeat(10_000) });
    for (const v of ["summary", "mermaid", "standard", "full"] as const) {
      expect(bundle.compress(big, v)).toBe(compress(big, v));
    }
  });
});
