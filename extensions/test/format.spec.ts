import {
  durationBetween,
  formatBytes,
  formatCount,
  formatDuration,
  formatNumber,
  formatTime,
  formatValue,
  isNumericType,
  parseTime,
  relativeTime,
  stateLabel
} from '../src/common/format';

describe('times', () => {
  const now = Date.parse('2025-03-03T06:00:00Z');

  test('parseTime rejects empty and invalid text', () => {
    expect(parseTime(null)).toBeNull();
    expect(parseTime('')).toBeNull();
    expect(parseTime('not a date')).toBeNull();
    expect(parseTime('2025-03-03T06:00:00Z')?.getTime()).toBe(now);
  });

  test('relativeTime in the past and the future', () => {
    expect(relativeTime('2025-03-03T05:59:50Z', now)).toBe('just now');
    expect(relativeTime('2025-03-03T06:00:20Z', now)).toBe('in a few s');
    expect(relativeTime('2025-03-03T05:55:00Z', now)).toBe('5 min ago');
    expect(relativeTime('2025-03-03T09:00:00Z', now)).toBe('in 3 h');
    expect(relativeTime('2025-02-28T06:00:00Z', now)).toBe('3 d ago');
    expect(relativeTime(undefined, now)).toBe('');
  });

  test('formatDuration picks the unit', () => {
    expect(formatDuration(400)).toBe('0.4 s');
    expect(formatDuration(12_000)).toBe('12 s');
    expect(formatDuration(184_000)).toBe('3 min 4 s');
    expect(formatDuration(3_720_000)).toBe('1 h 2 min');
    expect(formatDuration(-1)).toBe('');
    expect(formatDuration(null)).toBe('');
  });

  test('durationBetween counts a running item up to now', () => {
    expect(durationBetween('2025-03-03T05:59:00Z', '2025-03-03T06:00:00Z')).toBe('1 min 0 s');
    expect(durationBetween('2025-03-03T05:59:30Z', null, now)).toBe('30 s');
    expect(durationBetween(null, null, now)).toBe('');
  });

  test('formatTime is local (UTC in tests) minutes, dash when missing', () => {
    expect(formatTime('2024-03-02T14:05:59Z')).toBe('2024-03-02 14:05');
    expect(formatTime(null)).toBe('–');
    expect(formatTime('garbage')).toBe('garbage');
  });
});

test('stateLabel', () => {
  expect(stateLabel('timed_out')).toBe('Timed out');
  expect(stateLabel('queued')).toBe('Queued');
  expect(stateLabel(null)).toBe('Never run');
});

describe('catalog values', () => {
  test('formatCount', () => {
    expect(formatCount(1234567)).toBe((1234567).toLocaleString());
    expect(formatCount(null)).toBe('–');
    expect(formatCount(NaN)).toBe('–');
  });

  test('formatBytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20 MB');
    expect(formatBytes(undefined)).toBe('–');
  });

  test('formatNumber: compact, small, numeric text', () => {
    expect(formatNumber(12_500, true)).toBe('12.5k');
    expect(formatNumber(3_400_000, true)).toBe('3.4M');
    expect(formatNumber(2e9)).toBe('2.0B');
    expect(formatNumber(0.25312)).toBe('0.253');
    expect(formatNumber('42.5')).toBe('42.5');
    expect(formatNumber(null)).toBe('–');
    expect(formatNumber('abc')).toBe('abc');
  });

  test('formatValue', () => {
    expect(formatValue(null)).toBe('null');
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
    expect(formatValue(3)).toBe('3');
  });

  test('isNumericType', () => {
    expect(isNumericType('DECIMAL(18,2)')).toBe(true);
    expect(isNumericType(' bigint')).toBe(true);
    expect(isNumericType('VARCHAR')).toBe(false);
    expect(isNumericType('DATE')).toBe(false);
  });
});
