import { describe, expect, it } from 'vitest';
import { grayHandlers, outboundStats, runWithGray } from '../src/index.js';

/*
 * I2 (labels from closed sets): a consumer that binds the version a message carries
 * (`runWithGray(header, …)`) can be handed any well-formed label. The lane-fallback counter
 * (in-process rows and the OTel series, same labels) tells at most 64 (wanted, served) pairs
 * apart; past that, a new pair is counted as `wanted: "other"`, and nothing is lost.
 */
describe('I2 lane-fallback labels stay bounded whatever versions a message names', () => {
  it('500 distinct wanted versions: at most 65 rows, every fallback counted', () => {
    const handle = grayHandlers(
      { stable: () => 'stable', beta: () => 'beta' },
      { fallback: 'stable' },
    );
    for (let i = 0; i < 500; i++) runWithGray(`m${i}`, () => handle());
    const rows = outboundStats().fallbacks;
    expect(rows.length).toBeLessThanOrEqual(65);
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(500);
    expect(rows.find((r) => r.wanted === 'other')?.count).toBe(500 - 64);
    // A pair already told apart keeps its own row.
    runWithGray('m0', () => handle());
    expect(outboundStats().fallbacks.find((r) => r.wanted === 'm0')?.count).toBe(2);
  });
});
