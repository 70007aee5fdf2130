/**
 * The Schema tab: columns with type, nullability, description and PII.
 */
import * as React from 'react';

import { ITableDetail } from '../../api';
import { EmptyState } from '../../common/components';
import { PiiBadge } from '../badges';

export function SchemaTab(props: { detail: ITableDetail }): JSX.Element {
  const { columns } = props.detail;
  if (!columns.length) {
    return <EmptyState title="No columns" />;
  }
  return (
    <table className="aw-Grid aw-SchemaTable" data-testid="schema-table">
      <thead>
        <tr>
          <th className="aw-Grid-index">#</th>
          <th>Column</th>
          <th>Type</th>
          <th>Nullable</th>
          <th>Description</th>
        </tr>
      </thead>
      <tbody>
        {columns.map((c, i) => (
          <tr key={c.name} data-testid="schema-row" data-column={c.name}>
            <td className="aw-Grid-index">{i + 1}</td>
            <td className="aw-SchemaTable-name">
              <code>{c.name}</code>
              {c.pii ? <PiiBadge title={`${c.name} holds personal data`} /> : null}
            </td>
            <td>
              <code className="aw-Type">{c.type}</code>
            </td>
            <td className="aw-SchemaTable-nullable">
              {c.nullable === false ? 'NOT NULL' : c.nullable ? 'yes' : '–'}
            </td>
            <td className={`aw-SchemaTable-description${c.description ? '' : ' aw-mod-missing'}`}>
              {c.description || '–'}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
