import { DECISION_REASONS } from '@graylane/core';
import { StandardResolutionReasons } from '@openfeature/core';
import { describe, expect, it } from 'vitest';
import { toFlagMetadata } from './metadata.js';
import { toOpenFeatureReason } from './reasons.js';

describe('toOpenFeatureReason', () => {
  it('maps every graylane reason to a standard OpenFeature reason other than UNKNOWN/ERROR', () => {
    const standard = new Set(Object.values(StandardResolutionReasons));
    for (const reason of DECISION_REASONS) {
      const mapped = toOpenFeatureReason(reason);
      expect(standard.has(mapped as never), reason).toBe(true);
      expect(['UNKNOWN', 'ERROR'], reason).not.toContain(mapped);
    }
  });

  it.each(['', 'rules', 'HEADER', '__proto__', 'constructor', 'toString', 'weight '])(
    'HDR-11 %j outside the closed set → UNKNOWN',
    (reason) => expect(toOpenFeatureReason(reason)).toBe('UNKNOWN'),
  );
});

describe('toFlagMetadata', () => {
  it('carries reason, source, rule id, bucket and the ignored marker; nothing undefined', () => {
    expect(
      toFlagMetadata({
        version: 'beta',
        reason: 'weight',
        source: 'rules',
        ruleId: 'ramp',
        bucket: 0,
        rejected: { source: 'cookie', reason: 'unknown' },
      }),
    ).toEqual({
      decisionReason: 'weight',
      source: 'rules',
      ruleId: 'ramp',
      bucket: 0,
      rejected: 'cookie:unknown',
    });
    const plain = toFlagMetadata({ version: 'stable', reason: 'default', source: 'default' });
    expect(plain).toEqual({ decisionReason: 'default', source: 'default' });
    expect(Object.values(plain)).not.toContain(undefined);
  });
});
