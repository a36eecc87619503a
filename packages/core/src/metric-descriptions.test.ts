import { describe, expect, it } from 'vitest';
import { METER_NAME, METRIC_DESCRIPTIONS, metricOptions } from './metric-descriptions.js';
import { METRIC_NAMES } from './metrics.js';

// R139-D1: one row per metric name, read by every package that creates an instrument of it
// (tests/reliability/prometheus-one-meter.test.ts scrapes what they create).

describe('R139-D1 METRIC_DESCRIPTIONS: one kind, description and unit per metric name', () => {
  it('has exactly one row per METRIC_NAMES value', () => {
    expect(Object.keys(METRIC_DESCRIPTIONS).sort()).toEqual(Object.values(METRIC_NAMES).sort());
  });

  it.each(Object.entries(METRIC_DESCRIPTIONS))('%s: a usable HELP line', (_name, row) => {
    expect(row.description.length).toBeGreaterThan(10);
    // The exporter escapes `\` and line breaks in HELP; none is needed.
    expect(row.description).toMatch(/^[A-Z][\x20-\x7e]*[a-z]$/);
    expect(row.description).not.toMatch(/\\/);
  });

  it.each(Object.entries(METRIC_DESCRIPTIONS))('%s: counters have no unit', (_name, row) => {
    // A unit on a counter would add a suffix to its Prometheus name behind the Collector.
    if (row.kind === 'counter') expect(row.unit).toBeUndefined();
    else expect(row).toMatchObject({ kind: 'gauge', unit: 's' });
  });

  it('the staleness gauge is the one gauge, in seconds', () => {
    const gauges = Object.entries(METRIC_DESCRIPTIONS).filter(([, r]) => r.kind === 'gauge');
    expect(gauges.map(([n]) => n)).toEqual([METRIC_NAMES.staleness]);
  });

  it('one meter for every package', () => {
    expect(METER_NAME).toBe('graylane');
  });
});

describe('metricOptions', () => {
  it.each(Object.values(METRIC_NAMES))('%s: the row, as createCounter options', (name) => {
    const row = METRIC_DESCRIPTIONS[name];
    expect(metricOptions(name)).toEqual(
      row.unit === undefined
        ? { description: row.description }
        : { description: row.description, unit: row.unit },
    );
  });

  it.each([
    '',
    'graylane',
    'graylane.decisions.x',
    'GRAYLANE.DECISIONS',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
  ])('%j: not a graylane metric, undefined', (name) => {
    expect(metricOptions(name)).toBeUndefined();
  });

  it('returns a fresh object: a caller mutating it changes no other instrument', () => {
    const a = metricOptions(METRIC_NAMES.decisions);
    a.description = 'changed';
    expect(metricOptions(METRIC_NAMES.decisions).description).toBe(
      METRIC_DESCRIPTIONS[METRIC_NAMES.decisions].description,
    );
  });
});
