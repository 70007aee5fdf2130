/**
 * The Snapshots tab: the table's snapshots, newest first; view the table at one.
 */
import * as React from 'react';

import { ISnapshot } from '../../api';
import { EmptyState } from '../../common/components';
import { formatTime, formatTimeLong } from '../../common/format';

export function SnapshotsTab(props: {
  snapshots: ISnapshot[];
  at: number | null;
  onView: (id: number | null) => void;
}): JSX.Element {
  const snapshots = [...props.snapshots].sort((a, b) => b.snapshot_id - a.snapshot_id);
  if (!snapshots.length) {
    return <EmptyState title="No snapshots" />;
  }
  const latest = snapshots[0].snapshot_id;
  return (
    <table className="aw-Grid aw-SnapshotsTable" data-testid="snapshots-table">
      <thead>
        <tr>
          <th>Snapshot</th>
          <th>Time</th>
          <th>Operations</th>
          <th>Author</th>
          <th>Message</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {snapshots.map(s => {
          const current = props.at === null ? s.snapshot_id === latest : s.snapshot_id === props.at;
          return (
            <tr
              key={s.snapshot_id}
              data-testid="snapshot-row"
              data-snapshot={s.snapshot_id}
              className={current ? 'aw-mod-current' : ''}
            >
              <td>
                <code>{s.snapshot_id}</code>
                {s.snapshot_id === latest ? (
                  <span className="aw-Tag aw-Tag-latest">latest</span>
                ) : null}
              </td>
              <td title={formatTimeLong(s.time)}>{formatTime(s.time)}</td>
              <td>
                {(s.operations || []).map((op, i) => (
                  <span key={i} className="aw-Tag">
                    {op}
                  </span>
                ))}
              </td>
              <td>{s.author || '–'}</td>
              <td className={s.message ? '' : 'aw-mod-missing'}>{s.message || '–'}</td>
              <td className="aw-SnapshotsTable-action">
                {current ? (
                  <span className="aw-SnapshotsTable-viewing">
                    {props.at === null ? 'Current' : 'Viewing'}
                  </span>
                ) : (
                  <button
                    className="aw-LinkButton"
                    data-testid="snapshot-view"
                    onClick={() => props.onView(s.snapshot_id === latest ? null : s.snapshot_id)}
                  >
                    {s.snapshot_id === latest ? 'Back to latest' : 'View at this snapshot'}
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
