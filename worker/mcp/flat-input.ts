/**
 * A tool with several actions validates its arguments with a discriminated union (one strict object
 * per action), but MCP clients want one object schema (`type: object`) to show a model. This derives
 * that advertised object from the union, so the two can never drift: every field of every action,
 * optional (which fields an action needs is the union's business), with its description; the
 * discriminator becomes an enum of the actions.
 */
import { z } from "zod";

type Options = readonly z.ZodObject[];

/** A field without its optional/default wrappers, and the input side of a transform. */
function inputSide(field: z.ZodType): z.ZodType {
  let inner = field;
  for (;;) {
    if (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = inner.unwrap() as z.ZodType;
    else if (inner instanceof z.ZodPipe) inner = inner.in as z.ZodType;
    else break;
  }
  return inner;
}

/**
 * What the SDK should parse a field with before our handler sees it: the input side of a transform
 * (the union transforms it again), without a default (a default belongs to one action and would be
 * an unknown key for another), optional.
 */
function advertised(field: z.ZodType, inner: z.ZodType = inputSide(field)): z.ZodType {
  const description = field.description ?? inner.description;
  const out = inner.optional();
  return description ? out.describe(description) : out;
}

const shapeOf = (schema: z.ZodType): string =>
  JSON.stringify(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }));

/**
 * A field that two actions define differently (an `actor` that one action requires non-empty and
 * another does not) is advertised as either: the SDK must not refuse what the action would accept.
 */
function either(first: z.ZodType, field: z.ZodType): z.ZodType {
  const a = inputSide(first);
  const b = inputSide(field);
  if (a === b || shapeOf(a) === shapeOf(b)) return first;
  return advertised(first, z.union([a, b]));
}

export function flatInput<K extends string>(
  key: K,
  union: { options: Options },
  describeKey: string,
): z.ZodObject<Record<string, z.ZodType>, z.core.$strict> {
  const actions: string[] = [];
  const fields: Record<string, z.ZodType> = {};
  for (const option of union.options) {
    for (const [name, field] of Object.entries(option.shape as Record<string, z.ZodType>)) {
      if (name === key) {
        if (!(field instanceof z.ZodLiteral)) throw new Error(`'${key}' of every action must be a literal`);
        actions.push(String(field.value));
      } else {
        const seen = fields[name];
        fields[name] = seen ? either(seen, field) : advertised(field);
      }
    }
  }
  const [first, ...rest] = actions;
  if (first === undefined) throw new Error("a tool needs at least one action");
  return z.strictObject({ [key]: z.enum([first, ...rest]).describe(describeKey), ...fields });
}

/** The same for a tool without actions: its one schema's fields, as the SDK should parse them. */
export function flatObject(schema: z.ZodObject): z.ZodObject<Record<string, z.ZodType>, z.core.$strict> {
  const fields: Record<string, z.ZodType> = {};
  for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>))
    fields[name] = advertised(field);
  return z.strictObject(fields);
}
