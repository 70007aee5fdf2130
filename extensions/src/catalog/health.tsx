/**
 * The health badge of a table (green, amber, red or grey dot with the reason
 * as its tooltip) and the context that gives the tree every table's health
 * from one `quality/health` request.
 */
import * as React from 'react';

import { isAbortError } from '../api';
import { quality } from './qualityapi';
import { IHealthRow, healthBadge, healthIndex } from './qualitymodel';

/** Every shared table's health, by name (empty until loaded or without a lake). */
export const HealthContext = React.createContext<Map<string, IHealthRow>>(new Map());

/** Load every table's health once per `refreshKey` (one request for the whole tree). */
export function useHealth(refreshKey: number): Map<string, IHealthRow> {
  const [rows, setRows] = React.useState<Map<string, IHealthRow>>(new Map());
  React.useEffect(() => {
    const controller = new AbortController();
    quality
      .health({ signal: controller.signal })
      .then(r => setRows(healthIndex(r.tables)))
      .catch(err => {
        if (!isAbortError(err)) {
          console.warn('Table health is not available:', err);
        }
      });
    return () => controller.abort();
  }, [refreshKey]);
  return rows;
}

export function HealthDot(props: { row: IHealthRow | undefined }): JSX.Element | null {
  if (!props.row) {
    return null;
  }
  const { level, tooltip } = healthBadge(props.row);
  return (
    <span
      className={`aw-HealthDot aw-Health-${level}`}
      title={tooltip}
      aria-label={tooltip}
      data-testid="health-badge"
      data-level={level}
      data-health={props.row.health}
    />
  );
}

/** The badge of the table `name`, from the tree's health context. */
export function TableHealthDot(props: { name: string }): JSX.Element | null {
  const rows = React.useContext(HealthContext);
  return <HealthDot row={rows.get(props.name)} />;
}
