/**
 * Components shared by the panels: state badge, relative time, buttons, error
 * banner and states, empty states, spinners and the loading/error block of a tab.
 */
import * as React from 'react';

import { LabIcon } from '@jupyterlab/ui-components';

import { APIError } from '../api';
import { absoluteTime, relativeTime, stateLabel } from './format';

/** A coloured pill for a run, task or attempt state (spinner while running). */
export function StateBadge(props: {
  state: string | null | undefined;
  small?: boolean;
}): JSX.Element {
  const state = props.state || 'none';
  return (
    <span
      className={'awr-StateBadge awr-state-' + state + (props.small ? ' awr-mod-small' : '')}
      data-state={state}
      title={stateLabel(props.state)}
    >
      {state === 'running' ? (
        <span className="awr-Spinner" aria-hidden="true" />
      ) : (
        <span className="awr-StateBadge-dot" aria-hidden="true" />
      )}
      {stateLabel(props.state)}
    </span>
  );
}

/** A relative time ("in 3 h") with the absolute time as tooltip. */
export function RelTime(props: { iso: string | null | undefined; empty?: string }): JSX.Element {
  if (!props.iso) {
    return <span className="awr-muted">{props.empty ?? '—'}</span>;
  }
  return (
    <time dateTime={props.iso} title={absoluteTime(props.iso)}>
      {relativeTime(props.iso)}
    </time>
  );
}

/** A small Lab-styled button with an optional icon. */
export function ActionButton(props: {
  label: string;
  title?: string;
  icon?: LabIcon;
  testid?: string;
  disabled?: boolean;
  busy?: boolean;
  accept?: boolean;
  warn?: boolean;
  /** Show only the icon (the label becomes the tooltip and aria-label). */
  iconOnly?: boolean;
  onClick: (event: React.MouseEvent) => void;
}): JSX.Element {
  const cls =
    'awr-Button' +
    (props.accept ? ' awr-mod-accept' : '') +
    (props.warn ? ' awr-mod-warn' : '') +
    (props.iconOnly ? ' awr-mod-iconOnly' : '');
  return (
    <button
      type="button"
      className={cls}
      data-testid={props.testid}
      title={props.title ?? props.label}
      aria-label={props.label}
      disabled={props.disabled || props.busy}
      onClick={e => {
        e.stopPropagation();
        props.onClick(e);
      }}
    >
      {props.busy ? (
        <span className="awr-Spinner" aria-hidden="true" />
      ) : (
        props.icon && <props.icon.react tag="span" className="awr-Button-icon" />
      )}
      {!props.iconOnly && <span className="awr-Button-label">{props.label}</span>}
    </button>
  );
}

/** An error banner with the server's message. */
export function ErrorBanner(props: {
  message: string | null;
  testid?: string;
  onDismiss?: () => void;
}): JSX.Element | null {
  if (!props.message) {
    return null;
  }
  return (
    <div className="awr-Error" role="alert" data-testid={props.testid}>
      <span className="awr-Error-text">{props.message}</span>
      {props.onDismiss && (
        <button
          type="button"
          className="awr-Error-dismiss"
          title="Dismiss"
          onClick={props.onDismiss}
        >
          ×
        </button>
      )}
    </div>
  );
}

/** JSON in a pre block. */
export function JsonBlock(props: { value: any }): JSX.Element {
  return <pre className="awr-Json">{JSON.stringify(props.value, null, 2)}</pre>;
}

export function Spinner(props: { label?: string; small?: boolean }): JSX.Element {
  return (
    <div
      className={`aw-Loading${props.small ? ' aw-Loading-small' : ''}`}
      role="status"
      aria-live="polite"
      data-testid="catalog-loading"
    >
      <span className="aw-Spinner" />
      {props.label ? <span className="aw-Loading-label">{props.label}</span> : null}
    </div>
  );
}

export function ErrorState(props: {
  error: unknown;
  onRetry?: () => void;
  title?: string;
  testid?: string;
}): JSX.Element {
  const { error } = props;
  const status = error instanceof APIError ? error.status : undefined;
  const message = error instanceof Error ? error.message : String(error ?? 'Unknown error');
  let title = props.title;
  if (!title) {
    title =
      status === 403
        ? 'Permission denied'
        : status === 0
          ? 'Server unreachable'
          : 'Something went wrong';
  }
  return (
    <div
      className={`aw-ErrorState${status === 403 ? ' aw-ErrorState-denied' : ''}`}
      data-testid={props.testid ?? 'catalog-error'}
      data-status={status ?? ''}
      role="alert"
    >
      <div className="aw-ErrorState-title">{title}</div>
      <div className="aw-ErrorState-message">{message}</div>
      {error instanceof APIError && error.errors.length > 0 ? (
        <ul className="aw-ErrorState-fields">
          {error.errors.map((e, i) => (
            <li key={i}>
              <code>{e.field}</code>: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
      {props.onRetry ? (
        <button className="jp-Button jp-mod-styled jp-mod-reject aw-Button" onClick={props.onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

export function EmptyState(props: {
  title: string;
  children?: React.ReactNode;
  testid?: string;
  compact?: boolean;
}): JSX.Element {
  return (
    <div
      className={`aw-EmptyState${props.compact ? ' aw-EmptyState-compact' : ''}`}
      data-testid={props.testid ?? 'catalog-empty'}
    >
      <div className="aw-EmptyState-title">{props.title}</div>
      {props.children ? <div className="aw-EmptyState-body">{props.children}</div> : null}
    </div>
  );
}

/**
 * The loading or error block of a view that loads its data: the error (with a
 * Retry) when loading failed and nothing is shown yet, else a spinner while
 * nothing is loaded. `null` once there is data: render it.
 */
export function LoadingOrError(props: {
  data: unknown;
  error: unknown;
  label: string;
  onRetry: () => void;
}): JSX.Element | null {
  if (props.error && !props.data) {
    return <ErrorState error={props.error} onRetry={props.onRetry} />;
  }
  if (!props.data) {
    return <Spinner label={props.label} />;
  }
  return null;
}
