/**
 * The overview of a table detail: name, badges, actions (insert code, copy the
 * name, refresh), owner, size, times, description and tags.
 */
import * as React from 'react';
import { copyIcon, refreshIcon } from '@jupyterlab/ui-components';

import { ITableDetail } from '../../api';
import {
  formatBytes,
  formatCount,
  formatRelative,
  formatTime,
  formatTimeLong
} from '../../common/format';
import { tableIcon } from '../../common/icons';
import { ClassificationBadge, LayerChip, PiiBadge } from '../badges';
import { IDetailActions } from './actions';
import { ClassifyButton } from './classify';

export function Header(props: {
  detail: ITableDetail;
  actions: IDetailActions;
  loading: boolean;
  piiColumns: string[];
  onRefresh: () => void;
}): JSX.Element {
  const { detail, actions } = props;
  const [copied, setCopied] = React.useState(false);
  const [busy, setBusy] = React.useState<string | null>(null);
  const timer = React.useRef<number | null>(null);
  React.useEffect(
    () => () => {
      if (timer.current !== null) {
        window.clearTimeout(timer.current);
      }
    },
    []
  );
  const copy = () => {
    actions.copyName(detail.name);
    setCopied(true);
    if (timer.current !== null) {
      window.clearTimeout(timer.current);
    }
    timer.current = window.setTimeout(() => setCopied(false), 1500);
  };
  const run = (what: string, fn: () => Promise<void>) => {
    setBusy(what);
    fn().finally(() => setBusy(null));
  };
  const tagged = (detail.tags || []).some(t => t.toLowerCase() === 'pii');
  return (
    <div className="aw-TableDetail-header">
      <div className="aw-TableDetail-titleRow">
        <tableIcon.react tag="span" className="aw-TableDetail-icon" />
        <h1 className="aw-TableDetail-title" title={detail.name}>
          {detail.name}
        </h1>
        <LayerChip layer={detail.layer} />
        <ClassificationBadge value={detail.classification} />
        {tagged || props.piiColumns.length ? (
          <PiiBadge
            title={
              props.piiColumns.length
                ? `Personal data in: ${props.piiColumns.join(', ')}`
                : 'Tagged as containing personal data (PII)'
            }
          />
        ) : null}
        <span className="aw-Spacer" />
        <div className="aw-TableDetail-actions">
          <button
            className="aw-ActionButton aw-mod-primary"
            data-testid="insert-sql"
            disabled={busy !== null}
            title={`Insert a %%sql cell reading ${detail.name} into the current notebook`}
            onClick={() => run('sql', () => actions.insertSql(detail.name))}
          >
            {busy === 'sql' ? 'Inserting…' : 'Insert SQL cell'}
          </button>
          <button
            className="aw-ActionButton"
            data-testid="insert-ibis"
            disabled={busy !== null}
            title={`Insert Python (ibis) code reading ${detail.name} into the current notebook`}
            onClick={() => run('ibis', () => actions.insertIbis(detail.name))}
          >
            {busy === 'ibis' ? 'Inserting…' : 'Insert Ibis code'}
          </button>
          <button
            className={`aw-ActionButton${copied ? ' aw-mod-done' : ''}`}
            data-testid="copy-name"
            title={`Copy "${detail.name}" to the clipboard`}
            onClick={copy}
          >
            <copyIcon.react tag="span" className="aw-ActionButton-icon" />
            {copied ? 'Copied' : 'Copy name'}
          </button>
          <ClassifyButton detail={detail} onDone={props.onRefresh} />
          <button
            className="aw-IconButton"
            data-testid="detail-refresh"
            title="Refresh"
            aria-label="Refresh"
            onClick={props.onRefresh}
          >
            {props.loading ? (
              <span className="aw-Spinner aw-Spinner-tiny" />
            ) : (
              <refreshIcon.react tag="span" />
            )}
          </button>
        </div>
      </div>
      <div className="aw-TableDetail-meta">
        <Meta label="Owner" value={detail.owner || '–'} />
        <Meta label="Rows" value={formatCount(detail.row_count)} />
        <Meta
          label="Size"
          value={formatBytes(detail.size_bytes)}
          title={
            detail.file_count !== undefined && detail.file_count !== null
              ? `${formatCount(detail.size_bytes)} bytes in ${formatCount(detail.file_count)} files`
              : undefined
          }
        />
        <Meta
          label="Modified"
          value={formatRelative(detail.last_modified)}
          title={formatTimeLong(detail.last_modified)}
        />
        {detail.created ? (
          <Meta
            label="Created"
            value={formatTime(detail.created)}
            title={formatTimeLong(detail.created)}
          />
        ) : null}
      </div>
      <p className={`aw-TableDetail-description${detail.description ? '' : ' aw-mod-missing'}`}>
        {detail.description || 'No description.'}
      </p>
      {detail.tags && detail.tags.length ? (
        <div className="aw-TableDetail-tags">
          {detail.tags.map(tag => (
            <span key={tag} className="aw-Tag">
              {tag}
            </span>
          ))}
        </div>
      ) : null}
    </div>
  );
}

function Meta(props: { label: string; value: string; title?: string }): JSX.Element {
  return (
    <span className="aw-Meta" title={props.title}>
      <span className="aw-Meta-label">{props.label}</span>
      <span className="aw-Meta-value">{props.value}</span>
    </span>
  );
}
