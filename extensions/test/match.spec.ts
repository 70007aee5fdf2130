import { hasPii, matchedLabels, splitTableName, tableTooltip } from '../src/catalog/match';

test('splitTableName', () => {
  expect(splitTableName('bronze.orders')).toEqual({ prefix: 'bronze.', short: 'orders' });
  expect(splitTableName('gold.a.b')).toEqual({ prefix: 'gold.', short: 'a.b' });
  expect(splitTableName('plain')).toEqual({ prefix: '', short: 'plain' });
});

test('tableTooltip lists what is known, one per line', () => {
  expect(
    tableTooltip({ name: 'gold.x', description: 'Sales', owner: 'alice', tags: ['pii', 'finance'] })
  ).toBe('gold.x\nSales\nOwner: alice\nTags: pii, finance');
  expect(tableTooltip({ name: 'gold.x', description: null, owner: null, tags: [] })).toBe(
    'gold.x\nNo description'
  );
});

test('matchedLabels drops empty entries', () => {
  expect(matchedLabels({ matched: ['name', '', 'column c_phone'] })).toEqual([
    'name',
    'column c_phone'
  ]);
  expect(matchedLabels({ matched: undefined as any })).toEqual([]);
});

test('hasPii ignores case', () => {
  expect(hasPii({ tags: ['PII'] })).toBe(true);
  expect(hasPii({ tags: ['finance'] })).toBe(false);
  expect(hasPii({ tags: undefined as any })).toBe(false);
});
