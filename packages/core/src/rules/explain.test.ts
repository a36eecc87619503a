import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/parse.js';
import { SAMPLE } from '../../test/fixtures.js';
import { decide } from './evaluate.js';
import { explain, formatExplanation } from './explain.js';

const config = parseConfig(SAMPLE);

describe('explain', () => {
  it('gives the same decision as decide and a trace of every rule tried', () => {
    const req = {
      path: '/api/checkout',
      cookies: { region: 'sh', gray_uid: 'u-7' },
      now: Date.parse('2026-06-01T00:00:00Z'),
    };
    const e = explain(config, req);
    expect(e.decision).toEqual(decide(config, req));
    expect(e.rules.map((r) => [r.ruleId, r.outcome])).toEqual([
      ['qa', 'no_match'],
      ['checkout', 'outside_window'],
      ['canary', 'matched'],
    ]);
    expect(e.rules[0]?.details).toEqual(['header x-user-group = absent equals "qa": no']);
    expect(e.rules[2]?.details[0]).toMatch(
      /^bucket\("canary", cookie:gray_uid\) = \d+ → (beta|stable)$/,
    );
  });

  it('formats a readable explanation', () => {
    const text = formatExplanation(explain(config, { headers: { 'x-user-group': 'qa' } }));
    expect(text.split('\n')).toEqual([
      'version beta (reason: rule, rule: qa)',
      '  rule qa: matched',
      '    header x-user-group = "qa" equals "qa": yes',
    ]);
  });

  it('explains a skipped split', () => {
    const e = explain(config, {});
    expect(e.rules[2]).toEqual({
      ruleId: 'canary',
      outcome: 'no_subject',
      details: ['no usable subject in cookie:gray_uid; split skipped'],
    });
  });
});
