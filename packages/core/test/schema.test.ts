import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../src/config/parse.js';
import { re2, SAMPLE } from './fixtures.js';

const schema = JSON.parse(
  readFileSync(new URL('../schema/graylane.schema.json', import.meta.url), 'utf8'),
);
const ajv = new Ajv2020({ allErrors: true, strict: false });
const check = ajv.compile(schema);

const docs: [string, unknown][] = [
  ['the sample', SAMPLE],
  [
    'regex + attrs',
    {
      versions: ['stable', 'beta'],
      default: 'stable',
      rules: [{ id: 'r', match: { attrs: { userId: { regex: '^9' } } }, version: 'beta' }],
    },
  ],
  ['unknown version label shape', { versions: ['Stable'], default: 'Stable' }],
  [
    'version and split together',
    {
      versions: ['stable'],
      default: 'stable',
      rules: [
        {
          id: 'r',
          version: 'stable',
          split: [{ version: 'stable', weight: 100 }],
          bucketBy: 'attr:u',
        },
      ],
    },
  ],
  [
    'split without bucketBy',
    {
      versions: ['stable'],
      default: 'stable',
      rules: [{ id: 'r', split: [{ version: 'stable', weight: 100 }] }],
    },
  ],
  [
    'two operators',
    {
      versions: ['stable'],
      default: 'stable',
      rules: [{ id: 'r', version: 'stable', match: { path: { equals: '/', prefix: '/' } } }],
    },
  ],
  [
    'window without offset',
    {
      versions: ['stable'],
      default: 'stable',
      rules: [{ id: 'r', version: 'stable', window: { from: '2026-01-01T00:00' } }],
    },
  ],
  ['unknown field', { versions: ['stable'], default: 'stable', extra: true }],
];

describe('JSON Schema (editor support)', () => {
  it.each(docs)('agrees with the parser on %s', (_name, doc) => {
    expect(check(doc)).toBe(validateConfig(doc, { regex: re2 }).ok);
  });
});
