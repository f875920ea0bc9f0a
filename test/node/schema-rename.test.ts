/**
 * The schema is the only place a column is named (docs/CONTRIBUTING.md): every query in workflows/
 * and worker/ reaches D1 through it, so renaming a column's property in schema/index.ts breaks the
 * type-check of the code that uses it, instead of a statement at run time. Checked with the
 * compiler over the Worker's own sources, reading a renamed copy of the schema in place of the file
 * (the checkout is not touched).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..", "..");
const schemaFile = path.join(root, "schema", "index.ts");
/** The Worker's type-check inputs (tsconfig.json) without its tests: the code that queries D1. */
const SOURCES = /^(core|worker|workflows|schema|contract\/src)\/|^worker-configuration\.d\.ts$/;

function workerProgramInputs(): { rootNames: string[]; options: ts.CompilerOptions } {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(root, "tsconfig.json"), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  });
  if (!parsed) throw new Error("tsconfig.json did not parse");
  const rootNames = parsed.fileNames.filter((f) => SOURCES.test(path.relative(root, f).split(path.sep).join("/")));
  return { rootNames, options: parsed.options };
}

/** The code that may query D1: the only files whose errors are collected (checking the rest is slower). */
const USERS = /^(workflows|worker)\//;

/** Type-checks the Worker's sources with `schemaText` read for schema/index.ts; errors of USERS by file. */
function typeCheck(schemaText: string, reuse?: ts.Program): { program: ts.Program; errors: Map<string, string[]> } {
  const { rootNames, options } = workerProgramInputs();
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  host.readFile = (file) => (path.resolve(file) === schemaFile ? schemaText : readFile(file));
  const program = ts.createProgram({ rootNames, options, host, ...(reuse ? { oldProgram: reuse } : {}) });
  const errors = new Map<string, string[]>();
  const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  if (global.length)
    errors.set(
      "(global)",
      global.map((d) => ts.flattenDiagnosticMessageText(d.messageText, " ")),
    );
  for (const source of program.getSourceFiles()) {
    const file = path.relative(root, source.fileName).split(path.sep).join("/");
    if (!USERS.test(file)) continue;
    const found = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    if (found.length)
      errors.set(
        file,
        found.map((d) => ts.flattenDiagnosticMessageText(d.messageText, " ")),
      );
  }
  return { program, errors };
}

/** `property` renamed where it is declared in the schema (exactly once), e.g. `spentUsd: real(…)`. */
function renamed(schema: string, property: string, to: string): string {
  const declaration = new RegExp(`^(\\s+)${property}:`, "gm");
  expect(schema.match(declaration), `'${property}' is declared once in schema/index.ts`).toHaveLength(1);
  return schema.replace(declaration, `$1${to}:`);
}

describe("schema: a renamed column breaks the type-check of the code that uses it", { timeout: 120_000 }, () => {
  it("the schema as it is type-checks clean; with two columns renamed, their users in workflows/ and worker/ do not", () => {
    const schema = readFileSync(schemaFile, "utf8");
    const clean = typeCheck(schema);
    expect([...clean.errors]).toEqual([]);

    // circuit_breaker.spent_usd (the spend totals) and model_stats.consecutive_failures (the cooldown).
    const changed = renamed(renamed(schema, "spentUsd", "spentUsdX"), "consecutiveFailures", "failStreak");
    const { errors } = typeCheck(changed, clean.program);
    const broken = [...errors.keys()];
    expect(broken).toEqual(
      expect.arrayContaining([
        "workflows/breakers.ts",
        "workflows/steps/write.ts",
        "worker/services/cooldowns.ts",
        "worker/services/breaker-verify.ts",
      ]),
    );
    const said = (file: string) => (errors.get(file) ?? []).join("\n");
    expect(said("workflows/breakers.ts")).toContain("spentUsd");
    expect(said("workflows/steps/write.ts")).toContain("consecutiveFailures");
    expect(said("worker/services/cooldowns.ts")).toContain("consecutiveFailures");
  });
});
