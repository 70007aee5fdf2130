/**
 * Small presentational pieces shared by the catalog panel and the table
 * detail: badges, spinner, error and empty states, formatters.
 */
import * as React from 'react';
import { Time } from '@jupyterlab/coreutils';

import { APIError } from '../api';

/** Classification levels, least to most sensitive. */
export const CLASSIFICATIONS = ['public', 'internal', 'confidential', 'restricted'];

const CLASSIFICATION_HELP: { [key: string]: string } = {
  public: 'Public: may be shared outside the company',
  internal: 'Internal: for employees only',
  confidential: 'Confidential: need-to-know, do not share outside the team',
  restricted: 'Restricted: regulated or personal data, strictly limited access'
};

export function ClassificationBadge(props: {
  value: string | null | undefined;
}): JSX.Element | null {
  const value = (props.value || '').toLowerCase();
  if (!value) {
    return null;
  }
  const known = CLASSIFICATIONS.includes(value) ? value : 'unknown';
  return (
    <span
      className={`aw-Badge aw-Classification aw-Classification-${known}`}
      title={CLASSIFICATION_HELP[value] ?? `Classification: ${value}`}
      data-classification={value}
    >
      {value}
    </span>
  );
}

export function PiiBadge(props: { title?: string }): JSX.Element {
  return (
    <span
      className="aw-Badge aw-Pii"
      title={props.title ?? 'Contains personal data (PII)'}
      data-testid="pii-badge"
    >
      PII
    </span>
  );
}

export function LayerChip(props: { layer: string }): JSX.Element {
  return (
    <span className={`aw-LayerChip aw-Layer-${props.layer}`}>
      <span className="aw-LayerDot" />
      {props.layer}
    </span>
  );
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
  const message =
    error instanceof Error ? error.message : String(error ?? 'Unknown error');
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
        <button
          className="jp-Button jp-mod-styled jp-mod-reject aw-Button"
          onClick={props.onRetry}
        >
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
      {props.children ? (
        <div className="aw-EmptyState-body">{props.children}</div>
      ) : null}
    </div>
  );
}

/* ----------------------------------------------------------------------- */
/* Formatters                                                                */
/* ----------------------------------------------------------------------- */

const INT = new Intl.NumberFormat();

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) {
    return '–';
  }
  return INT.format(n);
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) {
    return '–';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 ? 0 : value < 10 ? 1 : 0;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** "2024-03-02 14:05" in local time, or '–'. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) {
    return '–';
  }
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return iso;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`
  );
}

/** The full local date and time, for tooltips. */
export function formatTimeLong(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : Time.format(d);
}

/** "3 hours ago", or '–'. */
export function formatRelative(iso: string | null | undefined): string {
  if (!iso) {
    return '–';
  }
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return iso;
  }
  return Time.formatHuman(d);
}

const NUMERIC_TEXT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const DECIMAL = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/**
 * A compact number for chart labels and stats: 1,234, 12.5k, 3.4M, 0.253.
 * Numeric strings (the profile sends min/max/mean as text) are numbers too.
 */
export function formatNumber(value: any, compact = false): string {
  if (value === null || value === undefined) {
    return '–';
  }
  if (typeof value === 'string' && NUMERIC_TEXT.test(value.trim())) {
    value = Number(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      return String(value);
    }
    const abs = Math.abs(value);
    if (compact || abs >= 1e7) {
      if (abs >= 1e9) {
        return `${(value / 1e9).toFixed(1)}B`;
      }
      if (abs >= 1e6) {
        return `${(value / 1e6).toFixed(1)}M`;
      }
      if (abs >= 1e4) {
        return `${(value / 1e3).toFixed(1)}k`;
      }
    }
    if (abs === 0 || abs >= 1) {
      return DECIMAL.format(value);
    }
    return String(Number(value.toPrecision(3)));
  }
  return formatValue(value);
}

/** Display text of a preview cell / profile value. */
export function formatValue(value: any): string {
  if (value === null || value === undefined) {
    return 'null';
  }
  if (typeof value === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/** Heuristic: is this DuckDB type numeric (right-aligned in grids)? */
export function isNumericType(type: string): boolean {
  return /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL|NUMERIC)/i.test(
    type.trim()
  );
}
