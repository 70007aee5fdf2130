import type { IDeclaredParameter, INotebookParameter } from '../src/api/types';
import { changedParameters, initialValues } from '../src/schedule/params';
import {
  controlProblem,
  declaredControl,
  declaredJson,
  declaredProblems,
  formParameters
} from '../src/schedule/widgets';

const decl = (d: Partial<IDeclaredParameter> & { name: string; kind: string }) =>
  ({
    choices: null,
    default: null,
    min: null,
    max: null,
    label: null,
    query: null,
    ...d
  }) as IDeclaredParameter;

const REGION = decl({
  name: 'region',
  kind: 'dropdown',
  choices: ['ASIA', 'EUROPE'],
  default: 'ASIA'
});
const YEAR = decl({ name: 'year', kind: 'dropdown', choices: [2023, 2024], default: 2024 });
const START = decl({ name: 'start', kind: 'date', default: '2024-01-01' });
const MIN_ORDERS = decl({ name: 'min_orders', kind: 'integer', default: 5, min: 0, max: 100 });
const RATIO = decl({ name: 'ratio', kind: 'number', default: 0.5, min: 0, max: 1 });
const FULL = decl({ name: 'full', kind: 'checkbox', default: true });
const TITLE = decl({ name: 'title', kind: 'text', default: 'Revenue' });
const SEGMENT = decl({
  name: 'segment',
  kind: 'dropdown',
  default: 'BUILDING',
  query: 'SELECT DISTINCT segment FROM gold.customer_segments'
});

describe('declaration -> control', () => {
  test('a dropdown of static choices is a select with the default chosen', () => {
    const c = declaredControl(REGION);
    expect(c.kind).toBe('select');
    expect(c.options!.map(o => o.value)).toEqual(['ASIA', 'EUROPE']);
    expect(c.initial).toBe('ASIA');
    expect(declaredControl(YEAR).options!.map(o => o.value)).toEqual(['2023', '2024']);
    expect(declaredControl(YEAR).initial).toBe('2024');
  });

  test('a query-backed dropdown is a text field with its default', () => {
    const c = declaredControl(SEGMENT);
    expect(c.kind).toBe('text');
    expect(c.fromQuery).toBe(true);
    expect(c.initial).toBe('BUILDING');
    expect(declaredControl({ ...SEGMENT, default: null }).initial).toBe('');
  });

  test('date, bounded numbers, checkbox and text', () => {
    expect(declaredControl(START)).toMatchObject({ kind: 'date', initial: '2024-01-01' });
    expect(declaredControl(MIN_ORDERS)).toMatchObject({
      kind: 'int',
      min: 0,
      max: 100,
      initial: '5',
      label: 'integer 0..100'
    });
    expect(declaredControl(RATIO)).toMatchObject({ kind: 'float', min: 0, max: 1 });
    const open = declaredControl(decl({ name: 'n', kind: 'integer', default: 3 }));
    expect(open.min).toBeUndefined();
    expect(open.max).toBeUndefined();
    expect(declaredControl(FULL)).toMatchObject({ kind: 'bool', initial: true });
    expect(declaredControl(TITLE)).toMatchObject({ kind: 'text', initial: 'Revenue' });
  });
});

describe('values outside the declaration', () => {
  test('choices, dates, bounds and integers are checked', () => {
    expect(controlProblem(REGION, 'EUROPE')).toBeNull();
    expect(controlProblem(REGION, 'MARS')).toMatch(/not one of ASIA, EUROPE/);
    expect(controlProblem(START, '2024-02-29')).toBeNull();
    expect(controlProblem(START, '2023-02-29')).toMatch(/not a date/);
    expect(controlProblem(START, '')).toMatch(/not a date/);
    expect(controlProblem(MIN_ORDERS, '100')).toBeNull();
    expect(controlProblem(MIN_ORDERS, '101')).toMatch(/outside 0 \.\. 100/);
    expect(controlProblem(MIN_ORDERS, '-1')).toMatch(/outside/);
    expect(controlProblem(MIN_ORDERS, '2.5')).toMatch(/not an integer/);
    expect(controlProblem(MIN_ORDERS, '')).toMatch(/not a number/);
    expect(controlProblem(RATIO, '0.25')).toBeNull();
    expect(controlProblem(RATIO, '1.5')).toMatch(/outside/);
    expect(controlProblem(SEGMENT, 'anything')).toBeNull(); // checked when the run starts
  });

  test('declaredProblems lists only the bad values', () => {
    expect(
      declaredProblems([REGION, MIN_ORDERS, START], {
        region: 'ASIA',
        min_orders: '500',
        start: '2024-01-02'
      })
    ).toEqual({ min_orders: '500 is outside 0 .. 100' });
    expect(declaredProblems(undefined, { region: 'MARS' })).toEqual({});
  });
});

describe('what the form sends', () => {
  const PAPERMILL: INotebookParameter[] = [
    { name: 'region', type: null, default: "'ASIA'", help: null },
    { name: 'top_n', type: 'int', default: '5', help: null }
  ];
  const DECLARED = [REGION, YEAR, START, MIN_ORDERS, FULL];

  test('declared values keep their type', () => {
    expect(declaredJson(YEAR, '2023')).toBe(2023);
    expect(declaredJson(REGION, 'EUROPE')).toBe('EUROPE');
    expect(declaredJson(MIN_ORDERS, '7')).toBe(7);
    expect(declaredJson(FULL, false)).toBe(false);
    expect(declaredJson(START, '2024-03-01')).toBe('2024-03-01');
  });

  test('formParameters adds declarations papermill did not list', () => {
    const names = formParameters(PAPERMILL, DECLARED).map(p => [p.param.name, !!p.declared]);
    expect(names).toEqual([
      ['region', true],
      ['top_n', false],
      ['year', true],
      ['start', true],
      ['min_orders', true],
      ['full', true]
    ]);
  });

  test('defaults are pre-filled and only changes are sent', () => {
    const values = initialValues(PAPERMILL, DECLARED);
    expect(values).toEqual({
      region: 'ASIA',
      top_n: '5',
      year: '2024',
      start: '2024-01-01',
      min_orders: '5',
      full: true
    });
    expect(changedParameters(PAPERMILL, values, DECLARED)).toEqual({});
    const edited = { ...values, year: '2023', start: '2024-06-30', top_n: '9', full: false };
    expect(changedParameters(PAPERMILL, edited, DECLARED)).toEqual({
      year: 2023,
      start: '2024-06-30',
      top_n: 9,
      full: false
    });
  });
});
