/**
 * One line of an attempt's resources in the run detail (see `resources.ts`).
 */
import * as React from 'react';

import type { IAttempt } from '../api/types';
import { attemptResources } from './resources';

export function AttemptResources(props: {
  attempt: IAttempt;
  currency?: string | null;
}): JSX.Element | null {
  const items = attemptResources(props.attempt, props.currency);
  if (items.length === 0) {
    return null;
  }
  return (
    <div className="awr-Resources" data-testid="attempt-resources">
      {items.map(i => (
        <span key={i.key} className="awr-Resource" title={i.title} data-resource={i.key}>
          <span className="awr-muted">{i.label}</span> {i.value}
        </span>
      ))}
    </div>
  );
}
