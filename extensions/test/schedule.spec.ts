import { APIError } from '../src/api/errors';
import type { INotebookParameter, INotebookScheduleInfo } from '../src/api/types';
import {
  CRON_PRESETS,
  EMPTY_CRON_MESSAGE,
  activePreset,
  cronRequest,
  formatIn,
  nameError,
  timezones
} from '../src/schedule/cron';
import {
  changedParameters,
  initialValue,
  inputKind,
  jsonValue,
  typeLabel
} from '../src/schedule/params';
import { IFormState, formReducer, initialState } from '../src/schedule/state';

const param = (name: string, type: string, def: string | null): INotebookParameter =>
  ({ name, type, default: def, help: '' }) as INotebookParameter;

const INFO = {
  path: 'reports/sales.ipynb',
  suggested_name: 'sales',
  has_parameters_cell: true,
  parameters: [
    param('top_n', 'int', '5'),
    param('region', 'None', '"EU"'),
    param('debug', 'None', 'False')
  ],
  existing: false
} as INotebookScheduleInfo;

describe('cron helpers', () => {
  test('nameError follows the server rule', () => {
    expect(nameError('')).toMatch(/needs a name/);
    expect(nameError('Sales')).toMatch(/lowercase/);
    expect(nameError('1abc')).toMatch(/lowercase/);
    expect(nameError('sales_report_2')).toBeNull();
  });

  test('activePreset ignores surrounding spaces', () => {
    expect(activePreset(' 0 6 * * 1-5 ')?.label).toBe('Weekdays 06:00');
    expect(activePreset('*/5 * * * *')).toBeUndefined();
    expect(CRON_PRESETS.map(p => activePreset(p.cron)?.cron)).toEqual(
      CRON_PRESETS.map(p => p.cron)
    );
  });

  test('cronRequest trims, no cron is null, no timezone is UTC', () => {
    expect(cronRequest(' 0 6 * * * ', ' Europe/Paris ')).toEqual({
      cron: '0 6 * * *',
      timezone: 'Europe/Paris'
    });
    expect(cronRequest('  ', '')).toEqual({ cron: null, timezone: 'UTC' });
  });

  test('formatIn shows the time in the schedule timezone', () => {
    expect(formatIn('2025-03-03T05:00:00Z', 'Europe/Paris')).toMatch(/06:00/);
    expect(formatIn('2025-03-03T05:00:00Z', 'UTC')).toMatch(/05:00/);
    // an unknown timezone falls back to the local format instead of throwing
    expect(formatIn('2025-03-03T05:00:00Z', 'Not/AZone')).toBeTruthy();
  });

  test('timezones include UTC', () => {
    expect(timezones()).toContain('UTC');
  });
});

describe('parameters', () => {
  test('inputKind from the declared type or the default', () => {
    expect(inputKind(param('a', 'int', '5'))).toBe('int');
    expect(inputKind(param('a', 'None', '2.5'))).toBe('float');
    expect(inputKind(param('a', 'None', '1e3'))).toBe('float');
    expect(inputKind(param('a', 'None', 'True'))).toBe('bool');
    expect(inputKind(param('a', 'str', '"x"'))).toBe('text');
    expect(inputKind(param('a', 'None', '"x"'))).toBe('text');
  });

  test('typeLabel guesses str, list, dict, any, expr', () => {
    expect(typeLabel(param('a', 'None', "'x'"))).toBe('str');
    expect(typeLabel(param('a', 'None', '[1, 2]'))).toBe('list');
    expect(typeLabel(param('a', 'None', '{"a": 1}'))).toBe('dict');
    expect(typeLabel(param('a', 'None', 'None'))).toBe('any');
    expect(typeLabel(param('a', 'None', 'date.today()'))).toBe('expr');
    expect(typeLabel(param('a', 'List[int]', '[]'))).toBe('List[int]');
  });

  test('initialValue unquotes strings and reads booleans', () => {
    expect(initialValue(param('a', 'None', '"EU"'))).toBe('EU');
    expect(initialValue(param('a', 'None', "r'x'"))).toBe('x');
    expect(initialValue(param('a', 'None', 'None'))).toBe('');
    expect(initialValue(param('a', 'None', 'False'))).toBe(false);
    expect(initialValue(param('a', 'int', ' 5 '))).toBe('5');
  });

  test('jsonValue: numbers as numbers, lists as JSON, bad numbers as text', () => {
    expect(jsonValue(param('a', 'int', '5'), '7')).toBe(7);
    expect(jsonValue(param('a', 'int', '5'), 'x')).toBe('x');
    expect(jsonValue(param('a', 'int', '5'), '')).toBe('');
    expect(jsonValue(param('a', 'None', '[1]'), '[1, 2]')).toEqual([1, 2]);
    expect(jsonValue(param('a', 'None', '[1]'), '[1,')).toBe('[1,');
    expect(jsonValue(param('a', 'None', 'True'), false)).toBe(false);
  });

  test('changedParameters sends only what differs from the defaults', () => {
    expect(changedParameters(INFO.parameters, { top_n: '5', region: 'EU', debug: false })).toEqual(
      {}
    );
    expect(changedParameters(INFO.parameters, { top_n: '10', region: 'US', debug: true })).toEqual({
      top_n: 10,
      region: 'US',
      debug: true
    });
  });
});

describe('formReducer', () => {
  const loaded = (): IFormState =>
    formReducer(initialState('Europe/Paris'), { type: 'loaded', info: INFO });

  test('starts with the default cron and the browser timezone', () => {
    const s = initialState('Europe/Paris');
    expect(s.cron).toBe('0 6 * * *');
    expect(s.timezone).toBe('Europe/Paris');
    expect(s.phase).toBe('form');
    expect(s.info).toBeNull();
  });

  test('loaded fills the name and the parameter values', () => {
    const s = loaded();
    expect(s.name).toBe('sales');
    expect(s.values).toEqual({ top_n: '5', region: 'EU', debug: false });
  });

  test('load clears a previous error and info', () => {
    const failed = formReducer(loaded(), { type: 'loadFailed', message: 'no such notebook' });
    expect(failed.loadError).toBe('no such notebook');
    const again = formReducer(failed, { type: 'load' });
    expect(again.loadError).toBeNull();
    expect(again.info).toBeNull();
  });

  test('fields and values change without touching the rest', () => {
    let s = loaded();
    s = formReducer(s, { type: 'setName', name: 'daily' });
    s = formReducer(s, { type: 'setCron', cron: '0 * * * *' });
    s = formReducer(s, { type: 'setTimezone', timezone: 'UTC' });
    s = formReducer(s, { type: 'setValue', name: 'top_n', value: '9' });
    expect(s).toMatchObject({ name: 'daily', cron: '0 * * * *', timezone: 'UTC' });
    expect(s.values).toEqual({ top_n: '9', region: 'EU', debug: false });
  });

  test('touch is idempotent', () => {
    const s = formReducer(loaded(), { type: 'touch' });
    expect(s.touched).toBe(true);
    expect(formReducer(s, { type: 'touch' })).toBe(s);
  });

  test('the cron preview: empty, loading, done, failed', () => {
    let s = formReducer(loaded(), { type: 'previewEmpty' });
    expect(s.previewError).toBe(EMPTY_CRON_MESSAGE);
    s = formReducer(s, { type: 'previewStart' });
    expect(s.previewLoading).toBe(true);
    const preview = { cron: '0 6 * * *', timezone: 'UTC', description: 'At 06:00 AM', next: [] };
    s = formReducer(s, { type: 'previewDone', preview });
    expect(s).toMatchObject({ preview, previewError: null, previewLoading: false });
    s = formReducer(s, { type: 'previewFailed', message: 'bad cron' });
    expect(s).toMatchObject({ preview: null, previewError: 'bad cron', previewLoading: false });
  });

  test('a successful promotion is done, with the approval', () => {
    let s = formReducer(loaded(), { type: 'submit' });
    expect(s.phase).toBe('running');
    expect(s.result).toBeNull();
    s = formReducer(s, {
      type: 'promoted',
      response: {
        pipeline: 'sales',
        folder: 'scheduled/sales',
        ok: true,
        message: 'Scheduled',
        report_url: '/r',
        pipeline_url: null,
        approval: 'pending'
      } as any
    });
    expect(s.phase).toBe('done');
    expect(s.result).toEqual({
      ok: true,
      message: 'Scheduled',
      pipeline: 'sales',
      reportUrl: '/r',
      approval: 'pending'
    });
  });

  test('a conflict goes back to the form and offers to replace', () => {
    const error = new APIError('exists', 409, [], { status: 409, error: 'exists' });
    const s = formReducer(formReducer(loaded(), { type: 'submit' }), {
      type: 'promoteFailed',
      error
    });
    expect(s.phase).toBe('form');
    expect(s.result).toMatchObject({ ok: false, conflict: true, message: 'exists' });
  });

  test('field errors go back to the form', () => {
    const error = new APIError('invalid', 400, [{ field: 'name', message: 'bad' }], {});
    const s = formReducer(loaded(), { type: 'promoteFailed', error });
    expect(s.phase).toBe('form');
    expect(s.result?.fieldErrors).toEqual([{ field: 'name', message: 'bad' }]);
  });

  test('a failed test run is done, with its report', () => {
    const error = new APIError('test run failed', 400, [], { report_url: '/report' });
    let s = formReducer(loaded(), { type: 'promoteFailed', error });
    expect(s.phase).toBe('done');
    expect(s.result).toMatchObject({ ok: false, conflict: false, reportUrl: '/report' });
    s = formReducer(s, { type: 'editAgain' });
    expect(s.phase).toBe('form');
    expect(s.result).toBeNull();
  });

  test('a network failure is done without a report', () => {
    const s = formReducer(loaded(), { type: 'promoteFailed', error: new Error('offline') });
    expect(s.result).toMatchObject({
      ok: false,
      conflict: false,
      message: 'offline',
      reportUrl: null
    });
    expect(s.phase).toBe('done');
  });

  test('tick counts the seconds', () => {
    expect(formReducer(loaded(), { type: 'tick', elapsed: 12 }).elapsed).toBe(12);
  });
});
