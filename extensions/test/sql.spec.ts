// The pure parts of SQL cells: which cells are %%sql cells, splitting and
// joining the magic line, formatting a cell's body, and the editor's language
// switch (CodeMirror state only, no DOM).
import { EditorState, Extension, Facet } from '@codemirror/state';

import { isSqlCell, joinSqlCell, splitSqlCell } from '../src/sql/cell';
import { formatSqlCell } from '../src/sql/format';
import { docIsSql, sqlLanguageSwitch } from '../src/sql/language';

describe('isSqlCell', () => {
  it('is true when the first non-blank line is the %%sql magic', () => {
    expect(isSqlCell('%%sql\nSELECT 1')).toBe(true);
    expect(isSqlCell('\n  %%sql -o top\nSELECT 1')).toBe(true);
    expect(isSqlCell('%%sql')).toBe(true);
  });

  it('is false for Python, line magics and other cell magics', () => {
    expect(isSqlCell('x = 1\n%%sql\nSELECT 1')).toBe(false);
    expect(isSqlCell('r = %sql SELECT 1')).toBe(false);
    expect(isSqlCell('%%sqlx\nSELECT 1')).toBe(false);
    expect(isSqlCell('%%bash\necho')).toBe(false);
  });
});

describe('splitSqlCell and joinSqlCell', () => {
  it('keeps the magic line and its options apart from the SQL', () => {
    expect(splitSqlCell('%%sql -o top\nSELECT 1\nFROM t\n')).toEqual({
      magic: '%%sql -o top',
      body: 'SELECT 1\nFROM t\n'
    });
    expect(splitSqlCell('print(1)')).toBeNull();
    expect(joinSqlCell('%%sql -o top', '\nSELECT\n  1\n\n')).toBe('%%sql -o top\nSELECT\n  1');
  });
});

describe('formatSqlCell', () => {
  const upper = async (sql: string) => sql.trim().toUpperCase();

  it('formats the body and keeps the magic line', async () => {
    expect(await formatSqlCell('%%sql -o t\nselect 1', upper)).toBe('%%sql -o t\nSELECT 1');
  });

  it('answers null when there is nothing to do', async () => {
    expect(await formatSqlCell('x = 1', upper)).toBeNull();
    expect(await formatSqlCell('%%sql\n  ', upper)).toBeNull();
    expect(await formatSqlCell('%%sql\nSELECT 1', upper)).toBeNull();
  });
});

describe('sqlLanguageSwitch', () => {
  // stands for the SQL language support: a facet whose value is seen in the state
  const marker = Facet.define<string, string>({ combine: values => values[0] ?? 'python' });
  const sql: Extension = marker.of('sql');

  function editor(doc: string, loaded = true): EditorState {
    const state = EditorState.create({ doc });
    const sqlSwitch = sqlLanguageSwitch(() => (loaded ? sql : null), state.doc);
    return EditorState.create({ doc, extensions: sqlSwitch.extension });
  }

  it('starts in SQL for a %%sql cell, and in the notebook language otherwise', () => {
    expect(editor('%%sql\nSELECT 1').facet(marker)).toBe('sql');
    expect(editor('x = 1').facet(marker)).toBe('python');
    expect(editor('%%sql\nSELECT 1', false).facet(marker)).toBe('python');
  });

  it('switches when an edit makes the cell a %%sql cell, and back', () => {
    let state = editor('SELECT 1');
    state = state.update({ changes: { from: 0, insert: '%%sql\n' } }).state;
    expect(state.facet(marker)).toBe('sql');
    state = state.update({ changes: { from: 8, insert: ' * 2' } }).state;
    expect(state.facet(marker)).toBe('sql');
    state = state.update({ changes: { from: 0, to: 6 } }).state;
    expect(state.facet(marker)).toBe('python');
    expect(docIsSql(state.doc)).toBe(false);
  });
});
