import {
  changeVsMedian,
  formatChange,
  lastUsage,
  median,
  sparkPoints,
  trendSparklines
} from '../src/runs/trend';

test('median and the change of the last value against the median before it', () => {
  expect(median([])).toBeNull();
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  // the earlier values' median is 10; the last, 15, is 50% more
  expect(changeVsMedian([8, 10, 12, 15])).toBeCloseTo(0.5);
  expect(changeVsMedian([10, 10, 5])).toBeCloseTo(-0.5);
  expect(changeVsMedian([7])).toBeNull();
  expect(changeVsMedian([0, 0, 3])).toBeNull(); // no base to compare with
  expect(formatChange(0.5)).toBe('+50%');
  expect(formatChange(-0.123)).toBe('-12%');
  expect(formatChange(0.001)).toBe('±0%');
});

test('sparkPoints spreads x evenly and puts the smallest value at the bottom', () => {
  expect(sparkPoints([])).toEqual([]);
  expect(sparkPoints([1, 3, 2], 42, 22)).toEqual([
    [1, 21],
    [21, 1],
    [41, 11]
  ]);
  expect(sparkPoints([5, 5], 42, 22)).toEqual([
    [1, 11],
    [41, 11]
  ]); // flat: mid-height
  expect(sparkPoints([5], 42, 22)).toEqual([[21, 11]]);
});

test('trendSparklines: duration and cost of finished runs, with the last value', () => {
  const run = (d: number | null, cost: number) => ({
    run_id: 'r',
    state: 'succeeded' as const,
    finished_at: null,
    duration_seconds: d,
    cpu_seconds: 0,
    peak_rss_bytes: null,
    cost
  });
  const lines = trendSparklines({
    runs: [run(100, 0.01), run(null, 0.01), run(120, 0.02), run(150, 0.03)],
    currency: 'EUR'
  });
  expect(lines.map(l => l.key)).toEqual(['duration', 'cost']);
  const [duration, cost] = lines;
  expect(duration.points).toHaveLength(3); // the untimed run is left out
  expect(duration.last).toBe('2m 30s');
  expect(duration.changeText).toBe('+36%'); // 150 vs median(100, 120) = 110
  expect(cost.last).toBe('0.0300 EUR');
  expect(cost.changeText).toBe('+200%'); // 0.03 vs median(0.01, 0.01, 0.02) = 0.01
  expect(cost.title).toContain('median before it 0.0100 EUR');
  expect(duration.title).not.toContain('The last run used'); // nothing measured
  const measured = { ...run(60, 0), cpu_seconds: 12, peak_rss_bytes: 1536 * 1024 * 1024 };
  expect(lastUsage(measured)).toBe('CPU 12 s, peak memory 1.5 GB');
  const [timed] = trendSparklines({ runs: [run(30, 0), measured], currency: null });
  expect(timed.title).toContain('The last run used CPU 12 s, peak memory 1.5 GB');
  // no prices: no cost line; no runs: nothing
  expect(trendSparklines({ runs: [run(10, 0)], currency: null }).map(l => l.key)).toEqual([
    'duration'
  ]);
  expect(trendSparklines(null)).toEqual([]);
});
