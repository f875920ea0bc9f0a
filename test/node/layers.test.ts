import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkFile, findCircles, readDeclared, type Violation } from "./layers.ts";

const root = path.resolve(import.meta.dirname, "..", "..");
const declared = readDeclared(root);

function trackedSources(): string[] {
  const out = execFileSync(
    "git",
    ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts", "*.tsx", "*.mjs"],
    {
      cwd: root,
      encoding: "utf8",
    },
  );
  return out.split("\n").filter((f) => f && !f.includes("node_modules/") && !f.endsWith(".d.ts"));
}

describe("layers: imports only point down (docs/CONTRIBUTING.md)", () => {
  it("no file in the repository breaks a layer or imports an undeclared package", () => {
    const violations: Violation[] = trackedSources().flatMap((file) =>
      checkFile(file, readFileSync(path.join(root, file), "utf8"), declared),
    );
    expect(violations).toEqual([]);
  });

  it("the check catches an upward import, an import outside the layers and an undeclared package", () => {
    const none = () => new Set<string>();
    expect(checkFile("workflows/x.ts", 'import { log } from "../worker/log.ts";', none)).toMatchObject([
      { why: expect.stringContaining("workflows may not import worker") },
    ]);
    expect(checkFile("core/x.ts", 'export { a } from "../schema/index.ts";', none)).toHaveLength(1);
    expect(checkFile("cli/src/x.ts", 'import { z } from "zod";', none)).toMatchObject([
      { why: "cli/package.json does not declare 'zod'" },
    ]);
    expect(checkFile("executor/src/x.ts", 'const m = await import("../../test/mock.ts");', none)).toHaveLength(1);
    expect(checkFile("worker/x.ts", 'import { a } from "../workflows/a.ts";\nimport "node:fs";', none)).toEqual([]);
  });
});

describe("no import circles (docs/CONTRIBUTING.md)", () => {
  it("no module in the repository reaches itself through its imports", () => {
    const sources = new Map(trackedSources().map((f) => [f, readFileSync(path.join(root, f), "utf8")] as const));
    expect(findCircles(sources).map((c) => c.join(" → "))).toEqual([]);
  });

  it("the check catches a circle, also through type-only imports, a re-export or the contract package", () => {
    const circles = findCircles(
      new Map([
        // The circle wave 2 left in the executor, type-only edges included.
        ["executor/src/clis/common.ts", 'import type { CliRunInput } from "../interfaces.ts";'],
        ["executor/src/interfaces.ts", 'import type { UsageLog } from "./usage/session-logs.ts";'],
        ["executor/src/usage/session-logs.ts", 'import { addTokens } from "../clis/common.ts";'],
        // A re-export that comes back through the contract's entry point.
        ["contract/src/index.ts", 'export * from "./a.ts";'],
        ["contract/src/a.ts", 'import { b } from "@vault-mcp/contract";'],
        // A file importing itself.
        ["core/self.ts", 'import "./self.ts";'],
        // A chain that does not close.
        ["worker/x.ts", 'import "../core/y.ts";\nimport "@vault-mcp/contract";'],
        ["core/y.ts", 'import "node:fs";'],
      ]),
    );
    expect(circles).toEqual([
      ["contract/src/a.ts", "contract/src/index.ts", "contract/src/a.ts"],
      ["core/self.ts", "core/self.ts"],
      [
        "executor/src/clis/common.ts",
        "executor/src/interfaces.ts",
        "executor/src/usage/session-logs.ts",
        "executor/src/clis/common.ts",
      ],
    ]);
  });
});
