/**
 * "Format SQL": format the SQL of the active `%%sql` cell with the server's
 * `POST workspace/api/sql/format` (sqlglot; no kernel needed), keeping the
 * `%%sql` line as it is.
 */
import { requestAPI } from '../api';
import { joinSqlCell, splitSqlCell } from './cell';

/** The answer of `POST sql/format`. */
export interface IFormatResponse {
  sql: string;
}

/** Format SQL text on the server. */
export async function formatSql(sql: string): Promise<string> {
  const answer = await requestAPI<IFormatResponse>('sql/format', {
    method: 'POST',
    body: JSON.stringify({ sql })
  });
  return answer.sql;
}

/**
 * A `%%sql` cell's source with its SQL formatted; `null` if it is not a
 * `%%sql` cell or nothing changes.
 */
export async function formatSqlCell(
  source: string,
  format: (sql: string) => Promise<string> = formatSql
): Promise<string | null> {
  const parts = splitSqlCell(source);
  if (parts === null || !parts.body.trim()) {
    return null;
  }
  const formatted = joinSqlCell(parts.magic, await format(parts.body));
  return formatted === source ? null : formatted;
}
