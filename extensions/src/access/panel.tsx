/**
 * The "Access" sidebar panel: pending requests the user may decide (Approve / Deny with an
 * optional note), the user's own requests with their status, and their grants with expiry.
 * Errors show inline with the server's message.
 */
import * as React from 'react';

import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';

import { access, errorMessage } from '../api';
import { ActionButton, ErrorBanner, RelTime } from '../common/components';
import { formatTime } from '../common/format';
import { accessIcon } from './icon';
import {
  IAccessGrant,
  IAccessGroups,
  IAccessRequestView,
  expiresSoon,
  expiryLabel,
  groupRequests,
  myGrants,
  statusLabel,
  targetLabel
} from './model';

export const ACCESS_PANEL_ID = 'workspace-access';

interface IState {
  groups: IAccessGroups;
  grants: IAccessGrant[];
  loading: boolean;
  error: string | null;
}

export class AccessPanel extends ReactWidget {
  /** `me`: the user's name under a hub (null outside one). */
  constructor(private readonly _me: string | null) {
    super();
    this.id = ACCESS_PANEL_ID;
    this.addClass('aw-AccessPanel');
    this.title.icon = accessIcon;
    this.title.caption = 'Access';
  }

  /** Load the requests and grants again. */
  async refresh(): Promise<void> {
    this._state = { ...this._state, loading: true };
    this.update();
    const me = this._me ?? undefined;
    try {
      const [pending, own, grants] = await Promise.all([
        access.requests(),
        access.requests({ status: 'all', user: me }),
        access.grants({ user: me })
      ]);
      this._state = {
        groups: groupRequests([...pending.requests, ...own.requests], this._me),
        grants: myGrants(grants.grants, this._me),
        loading: false,
        error: null
      };
    } catch (err) {
      this._state = { ...this._state, loading: false, error: errorMessage(err) };
    }
    this.update();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
  }

  protected render(): JSX.Element {
    const { groups, grants, loading, error } = this._state;
    return (
      <div className="aw-Access" data-testid="access-panel" data-loading={String(loading)}>
        <div className="awr-PanelHeader">
          <span className="awr-PanelHeader-title">Access</span>
          <ActionButton
            label="Refresh"
            icon={refreshIcon}
            iconOnly
            busy={loading}
            testid="access-refresh"
            onClick={() => void this.refresh()}
          />
        </div>
        <ErrorBanner
          message={error}
          testid="access-error"
          onDismiss={() => {
            this._state = { ...this._state, error: null };
            this.update();
          }}
        />
        <Section title="To decide" testid="access-to-decide" empty="No requests waiting for you.">
          {groups.toDecide.map(r => (
            <Decision key={r.id} request={r} onDone={() => void this.refresh()} />
          ))}
        </Section>
        <Section title="Your requests" testid="access-mine" empty="You have asked for nothing.">
          {groups.mine.map(r => (
            <li
              key={r.id}
              className="aw-AccessItem"
              data-testid="access-my-request"
              data-id={r.id}
              data-status={r.status}
            >
              <div className="aw-AccessItem-head">
                <code>{targetLabel(r.target)}</code>{' '}
                <span className="aw-AccessItem-id">#{r.id}</span>
              </div>
              <div className={`aw-AccessStatus aw-mod-${r.status}`}>{statusLabel(r)}</div>
              {r.rows && <RowsNote rows={r.rows} />}
              <div className="aw-AccessItem-meta">
                {r.days} days · asked <RelTime iso={r.created_at} />
              </div>
            </li>
          ))}
        </Section>
        <Section title="Your grants" testid="access-grants" empty="No active grants.">
          {grants.map(g => (
            <li
              key={g.id}
              className="aw-AccessItem"
              data-testid="access-grant"
              data-target={targetLabel(g.target)}
            >
              <div className="aw-AccessItem-head">
                <code>{targetLabel(g.target)}</code>
                {g.tables.length > 1 || (g.tables[0] && g.tables[0] !== targetLabel(g.target))
                  ? ` (${g.tables.join(', ')})`
                  : ''}
              </div>
              {g.rows && <RowsNote rows={g.rows} />}
              <div
                className={'aw-AccessItem-meta' + (expiresSoon(g) ? ' aw-mod-soon' : '')}
                title={`until ${formatTime(g.expires_at)}`}
              >
                {expiryLabel(g)} · granted by {g.granted_by}
                {g.user.startsWith('group:') ? ` · to ${g.user}` : ''}
              </div>
            </li>
          ))}
        </Section>
      </div>
    );
  }

  private _state: IState = {
    groups: { toDecide: [], mine: [] },
    grants: [],
    loading: false,
    error: null
  };
}

/** A row filter: the grant covers only the rows this condition keeps. */
function RowsNote(props: { rows: string }): JSX.Element {
  return (
    <div className="aw-AccessItem-meta" data-testid="access-rows-note">
      only rows where <code>{props.rows}</code>
    </div>
  );
}

function Section(props: {
  title: string;
  testid: string;
  empty: string;
  children: React.ReactNode[];
}): JSX.Element {
  return (
    <section className="aw-AccessSection" data-testid={props.testid}>
      <h3 className="aw-AccessSection-title">
        {props.title} <span className="aw-AccessSection-count">{props.children.length}</span>
      </h3>
      {props.children.length ? (
        <ul className="aw-AccessList">{props.children}</ul>
      ) : (
        <p className="aw-AccessSection-empty">{props.empty}</p>
      )}
    </section>
  );
}

/** A pending request with Approve / Deny and an optional note; the refusal shows inline. */
function Decision(props: { request: IAccessRequestView; onDone: () => void }): JSX.Element {
  const r = props.request;
  const [note, setNote] = React.useState('');
  const [busy, setBusy] = React.useState<'approve' | 'deny' | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const decide = async (how: 'approve' | 'deny') => {
    setBusy(how);
    setError(null);
    try {
      const text = note.trim() || null;
      await (how === 'approve' ? access.approve(r.id, text) : access.deny(r.id, text));
      setBusy(null);
      props.onDone();
    } catch (err) {
      setBusy(null);
      setError(errorMessage(err));
    }
  };
  return (
    <li
      className="aw-AccessItem"
      data-testid="access-request"
      data-id={r.id}
      data-user={r.user}
      data-target={targetLabel(r.target)}
    >
      <div className="aw-AccessItem-head">
        <strong>{r.user}</strong> → <code>{targetLabel(r.target)}</code>{' '}
        <span className="aw-AccessItem-id">#{r.id}</span>
      </div>
      <div className="aw-AccessItem-reason">“{r.reason}”</div>
      {r.rows && <RowsNote rows={r.rows} />}
      <div className="aw-AccessItem-meta">
        {r.days} days · asked <RelTime iso={r.created_at} />
      </div>
      <input
        className="jp-mod-styled aw-AccessItem-note"
        placeholder="Note (optional)"
        value={note}
        data-testid="access-note"
        onChange={e => setNote(e.target.value)}
      />
      <div className="aw-AccessItem-actions">
        <ActionButton
          label="Approve"
          accept
          busy={busy === 'approve'}
          disabled={busy !== null}
          testid="access-approve"
          onClick={() => void decide('approve')}
        />
        <ActionButton
          label="Deny"
          warn
          busy={busy === 'deny'}
          disabled={busy !== null}
          testid="access-deny"
          onClick={() => void decide('deny')}
        />
      </div>
      <ErrorBanner message={error} testid="access-decision-error" />
    </li>
  );
}
