/**
 * JSON Schema (draft 2020-12) of the status report, `graylane.status.v1`. Additive changes keep
 * the `schema` value; anything that removes or retypes a key gets a new one.
 */
const count = { type: 'integer', minimum: 0 } as const;
const text = { type: 'string', maxLength: 200 } as const;
const label = { type: 'string', maxLength: 64 } as const;
const time = { type: 'number' } as const;
const ids = { type: 'array', maxItems: 50, items: text } as const;

function object(properties: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties),
    properties,
  };
}

function rows(properties: Record<string, unknown>): Record<string, unknown> {
  return { type: 'array', maxItems: 500, items: object(properties) };
}

const change = /* @__PURE__ */ object({
  type: { const: 'change' },
  at: time,
  source: text,
  fromVersion: count,
  toVersion: count,
  previousHash: { type: 'string' },
  hash: { type: 'string' },
  added: ids,
  removed: ids,
  modified: ids,
  settingsChanged: { type: 'boolean' },
  omittedRuleIds: count,
});

const rejected = /* @__PURE__ */ object({
  type: { const: 'rejected' },
  at: time,
  lastAt: time,
  count: { type: 'integer', minimum: 1 },
  source: text,
  code: { type: 'string', maxLength: 40 },
  message: text,
});

/**
 * The JSON Schema of {@link StatusReport}: what `GET <path>/status.json` returns. Validate a
 * report with any draft 2020-12 validator (ajv's `Ajv2020`).
 *
 * @example
 * ```ts
 * import { Ajv2020 } from 'ajv/dist/2020.js';
 * const validate = new Ajv2020().compile(STATUS_REPORT_SCHEMA);
 * validate(await (await fetch('http://127.0.0.1:3000/graylane/status/status.json')).json());
 * ```
 */
export const STATUS_REPORT_SCHEMA: Readonly<Record<string, unknown>> = /* @__PURE__ */ schema();

/** Built in a function so bundlers drop the schema from entries that never import it. */
function schema(): Readonly<Record<string, unknown>> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://graylane.dev/schema/status.v1.schema.json',
    title: 'graylane status report',
    .../* @__PURE__ */ object({
      schema: { const: 'graylane.status.v1' },
      generatedAt: time,
      config: /* @__PURE__ */ object({
        hash: { type: 'string', pattern: '^[0-9a-f]{16}$' },
        version: { type: 'integer', minimum: 1 },
        source: text,
        updatedAt: time,
        versions: { type: 'array', minItems: 1, items: { type: 'string' } },
        default: { type: 'string' },
        rules: count,
      }),
      sources: {
        oneOf: [
          { type: 'null' },
          /* @__PURE__ */ object({
            state: { enum: ['starting', 'ready', 'degraded', 'stopped', 'unknown'] },
            items: /* @__PURE__ */ rows({
              name: text,
              state: { enum: ['starting', 'ready', 'stale', 'error', 'stopped', 'unknown'] },
              lastSuccess: { type: ['number', 'null'] },
              stalenessSeconds: { type: ['number', 'null'], minimum: 0 },
              lastError: { type: ['string', 'null'], maxLength: 200 },
              fatal: { type: 'boolean' },
            }),
          }),
        ],
      },
      traffic: /* @__PURE__ */ object({
        total: count,
        byVersion: /* @__PURE__ */ rows({
          version: label,
          count,
          share: { type: 'number', minimum: 0, maximum: 1 },
        }),
        byReason: /* @__PURE__ */ rows({ reason: label, count }),
        decisions: /* @__PURE__ */ rows({ version: label, reason: label, source: label, count }),
      }),
      fallbacks: /* @__PURE__ */ rows({ wanted: label, served: label, count }),
      invalidMarkers: /* @__PURE__ */ rows({ source: label, reason: label, count }),
      outbound: { oneOf: [{ type: 'null' }, /* @__PURE__ */ rows({ result: label, count })] },
      propagation: {
        oneOf: [
          { type: 'null' },
          /* @__PURE__ */ rows({
            destination: text,
            carried: count,
            missing: count,
            withheld: count,
            lastMissingSite: { type: ['string', 'null'], maxLength: 200 },
          }),
        ],
      },
      reloads: { type: 'array', maxItems: 200, items: { oneOf: [change, rejected] } },
      omittedRows: count,
      problems: { type: 'array', maxItems: 10, items: text },
    }),
  };
}
