import { describe, expect, it } from 'vitest';
import { figures, fitCostToTime, qError } from '../../src/train/evaluate.js';
import { isTestTemplate } from '../../src/train/model.js';

describe('held-out figures', () => {
  it('q-error is symmetric, ≥ 1, with times floored at 1 µs', () => {
    expect(qError(2e6, 1e6)).toBe(2);
    expect(qError(1e6, 2e6)).toBe(2);
    expect(qError(10, 500)).toBe(1);
    expect(qError(4000, 0)).toBe(4);
  });

  it('median, p90, MAE and R² of known values', () => {
    const actual = [1e6, 2e6, 3e6, 4e6, 5e6, 6e6, 7e6, 8e6, 9e6, 10e6];
    const f = figures(actual.map((a) => a * 2), actual);
    expect(f).toMatchObject({ n: 10, median_qerror: 2, p90_qerror: 2, mae_ms: 5.5 });
    expect(figures(actual, actual).r2).toBe(1);
  });

  it('fits time = a · cost + b by least squares', () => {
    const cost = [1, 2, 3, 4];
    const { a, b } = fitCostToTime(cost, cost.map((c) => 3 * c + 5));
    expect(a).toBeCloseTo(3);
    expect(b).toBeCloseTo(5);
  });

  it('splits by template, stably, near the asked fraction', () => {
    const templates = Array.from({ length: 2000 }, (_, i) => `fp${i}`);
    const test = templates.filter((t) => isTestTemplate(t, 1, 0.3));
    expect(test.length / templates.length).toBeGreaterThan(0.25);
    expect(test.length / templates.length).toBeLessThan(0.35);
    expect(templates.filter((t) => isTestTemplate(t, 1, 0.3))).toEqual(test);
  });
});
