/**
 * GitHub's official REST description (`@octokit/openapi`, api.github.com, OpenAPI 3.0) loaded once
 * per process into openapi-backend, which matches a request to its operation and validates its path
 * parameters, query and body, and validates the stand-in's own answers. Only the api.github.com file
 * is read (13 MB), never the package's index, which would load every GitHub edition (~400 MB).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import addFormatsModule from "ajv-formats";
import { OpenAPIBackend, type Operation, ValidationContext } from "openapi-backend";

const require = createRequire(import.meta.url);

type AddFormats = typeof addFormatsModule.default;
// ajv-formats is CommonJS: Node hands over module.exports (the plugin itself, also under `.default`).
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

export interface GitHubSpec {
  api: OpenAPIBackend;
  /** Validates a body against a named schema of `components.schemas` (e.g. "basic-error"). */
  schema(name: string, body: unknown): string[];
  version: string;
}

let loaded: Promise<GitHubSpec> | undefined;

export function githubSpec(): Promise<GitHubSpec> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<GitHubSpec> {
  const file = path.join(
    path.dirname(require.resolve("@octokit/openapi/package.json")),
    "generated",
    "api.github.com.json",
  );
  const definition = JSON.parse(readFileSync(file, "utf8")) as {
    info: { version: string };
    components: { schemas: Record<string, object> };
  };
  const api = new OpenAPIBackend({
    definition: definition as never,
    quick: true,
    validate: true,
    customizeAjv: (ajv) => {
      addFormats(ajv);
      // GitHub's own format for `owner/repo`.
      ajv.addFormat("repo.nwo", /^[^/\s]+\/[^/\s]+$/);
      return ajv;
    },
  });
  await api.init();
  const ajv = api.validator.getAjv(ValidationContext.Response);
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
  return {
    api,
    version: definition.info.version,
    schema(name, body) {
      let v = compiled.get(name);
      if (!v) {
        const s = definition.components.schemas[name];
        if (!s) return [`no schema '${name}' in GitHub's description`];
        v = ajv.compile(s);
        compiled.set(name, v);
      }
      return v(body) ? [] : describe(v.errors ?? []);
    },
  };
}

/** The part of an Ajv error this reports. */
export interface SchemaError {
  instancePath?: string;
  message?: string;
  params?: unknown;
}

export function describe(errors: readonly SchemaError[]): string[] {
  return errors.map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"} ${JSON.stringify(e.params ?? {})}`);
}

export type { Operation };
