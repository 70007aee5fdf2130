import { indexContaining, isInsertDetail } from '../src/results/insert';

const node = (...inside: unknown[]) => ({ node: { contains: (x: unknown) => inside.includes(x) } });

describe('results: inserting a cell below a widget', () => {
  it('finds the cell whose node holds the event target', () => {
    const target = {};
    expect(indexContaining([node(), node({}), node(target)], target)).toBe(2);
    expect(indexContaining([node(), node()], target)).toBe(-1);
  });

  it('accepts only a detail with code', () => {
    expect(isInsertDetail({ code: 'import altair as alt', handled: false })).toBe(true);
    expect(isInsertDetail({ code: '   ' })).toBe(false);
    expect(isInsertDetail({ code: 42 })).toBe(false);
    expect(isInsertDetail(null)).toBe(false);
  });
});
