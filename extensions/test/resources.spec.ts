import { attemptResources, formatBytes, formatSeconds } from '../src/runs/resources';

test('formatBytes and formatSeconds', () => {
  expect(formatBytes(900)).toBe('900 B');
  expect(formatBytes(1536)).toBe('1.5 KB');
  expect(formatBytes(300 * 1024 * 1024)).toBe('300 MB');
  expect(formatSeconds(0.421)).toBe('0.42 s');
  expect(formatSeconds(12.4)).toBe('12 s');
  expect(formatSeconds(185)).toBe('3m 05s');
});

test('attemptResources lists what was measured, in order, with the cost', () => {
  const attempt: any = {
    resources: {
      wall_seconds: 10,
      cpu_seconds: 3.5,
      peak_rss_bytes: 200 * 1024 * 1024,
      bytes_read: null,
      rows_written: 1234567,
      bytes_written: null,
      queue_wait_seconds: 0.2,
      lateness_seconds: null,
      dask_workers_min: null,
      dask_workers_max: null,
      measured: 'kernel',
      samples: 4
    },
    cost: { cpu_seconds: 3.5, gb_hours: 0.001, cost: 0.0123 }
  };
  expect(attemptResources(attempt, 'EUR').map(i => `${i.label}: ${i.value}`)).toEqual([
    'CPU: 3.50 s',
    'Peak memory: 200 MB',
    'Rows written: 1,234,567',
    'Queued: 0.20 s',
    'Cost: 0.0123 EUR'
  ]);
});

test('nothing measured, free: nothing shown', () => {
  expect(
    attemptResources({
      resources: undefined,
      cost: { cpu_seconds: 0, gb_hours: 0, cost: 0 }
    } as any)
  ).toEqual([]);
  expect(attemptResources({ resources: undefined, cost: null } as any)).toEqual([]);
});
