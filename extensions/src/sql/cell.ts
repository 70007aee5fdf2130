/**
 * `%%sql` cells as text: is a cell one, and its magic line apart from its SQL.
 *
 * The kernel reads a cell as SQL when its first non-blank line starts with
 * `%%sql` (workspace/sql/complete.py `sql_at_cursor` does the same), so the
 * editor highlights exactly those cells as SQL, and "Format SQL" formats the
 * body below that line and keeps the line (with its `-o NAME`) as it is.
 */

/** Matches the `%%sql` line (and the blank lines before it). */
const MAGIC_LINE = /^(\s*%%sql(?=[\s]|$)[^\n]*)(?:\n|$)/;

/** Whether a cell's source is a `%%sql` cell. */
export function isSqlCell(source: string): boolean {
  return MAGIC_LINE.test(source);
}

/** A `%%sql` cell in two parts: the magic line and the SQL below it. */
export interface ISqlCellParts {
  /** The `%%sql ...` line, with any blank lines before it. */
  magic: string;
  /** The SQL: everything after the magic line. */
  body: string;
}

/** Split a `%%sql` cell; `null` for any other cell. */
export function splitSqlCell(source: string): ISqlCellParts | null {
  const match = MAGIC_LINE.exec(source);
  if (!match) {
    return null;
  }
  return { magic: match[1], body: source.slice(match[0].length) };
}

/** The cell's source again, with a new SQL body (e.g. formatted). */
export function joinSqlCell(magic: string, body: string): string {
  return `${magic}\n${body.replace(/^\n+/, '').replace(/\s+$/, '')}`;
}
