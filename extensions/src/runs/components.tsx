import * as React from 'react';

import { LabIcon } from '@jupyterlab/ui-components';

import { absoluteTime, relativeTime, stateLabel } from './format';

/** A coloured pill for a run, task or attempt state (spinner while running). */
export function StateBadge(props: {
  state: string | null | undefined;
  small?: boolean;
}): JSX.Element {
  const state = props.state || 'none';
  return (
    <span
      className={
        'awr-StateBadge awr-state-' + state + (props.small ? ' awr-mod-small' : '')
      }
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
export function RelTime(props: {
  iso: string | null | undefined;
  empty?: string;
}): JSX.Element {
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
        props.icon && (
          <props.icon.react tag="span" className="awr-Button-icon" />
        )
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
  return (
    <pre className="awr-Json">{JSON.stringify(props.value, null, 2)}</pre>
  );
}

/** The message of anything thrown by requestAPI. */
export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) {
    return String((err as any).message) || 'Unknown error';
  }
  return String(err);
}
