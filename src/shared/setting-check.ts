/**
 * Checks a setting's value against the JSON schema package.json declares for it (the subset settings use: type, enum,
 * pattern, items, uniqueItems, minimum, maximum). One place declares a setting; the host validates with it.
 */
export interface SettingSchema {
  type?: string | string[];
  enum?: unknown[];
  pattern?: string;
  patternErrorMessage?: string;
  items?: SettingSchema;
  uniqueItems?: boolean;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  description?: string;
  markdownDescription?: string;
}

const isType = (v: unknown, t: string): boolean =>
  t === 'array' ? Array.isArray(v)
  : t === 'object' ? typeof v === 'object' && v !== null && !Array.isArray(v)
  : t === 'integer' ? Number.isInteger(v)
  : t === 'number' ? typeof v === 'number' && Number.isFinite(v)
  : t === 'null' ? v === null
  : typeof v === t;

/** What is wrong with `value` (a phrase to follow the setting's name), or undefined when it fits `schema`. */
export function settingProblem(value: unknown, schema: SettingSchema): string | undefined {
  const types = schema.type === undefined ? [] : ([] as string[]).concat(schema.type);
  if (types.length && !types.some((t) => isType(value, t))) return `should be ${types.join(' or ')}, not ${JSON.stringify(value)}`;
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return `is ${JSON.stringify(value)}, not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  }
  if (typeof value === 'string' && schema.pattern && !new RegExp(schema.pattern).test(value)) {
    return `is ${JSON.stringify(value)}: ${schema.patternErrorMessage ?? `it should match ${schema.pattern}`}`;
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return `is ${value}, below ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `is ${value}, above ${schema.maximum}`;
  }
  if (Array.isArray(value)) {
    if (schema.items) {
      for (const item of value) {
        const p = settingProblem(item, schema.items);
        if (p) return `has an item that ${p}`;
      }
    }
    if (schema.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) return 'lists an item twice';
  }
  return undefined;
}
