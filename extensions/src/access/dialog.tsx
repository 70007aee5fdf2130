/**
 * "Request access": a dialog asking for a reason and a number of days, which POSTs
 * `access/requests` and then says the request's id and who approves it (or the server's
 * refusal, e.g. a duplicate pending request).
 */
import * as React from 'react';

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';

import { access, catalog, errorMessage } from '../api';
import {
  DEFAULT_DAYS,
  IAccessRequest,
  approversText,
  targetLabel,
  targetTable,
  validateRequest
} from './model';

/** What the form gives back. */
interface IRequestForm {
  target: string;
  reason: string;
  days: string;
  rows: string;
}

/** The form in the dialog; the table is fixed when given, else typed. */
class RequestForm extends ReactWidget implements Dialog.IBodyWidget<IRequestForm> {
  constructor(
    private readonly _table: string | null,
    private readonly _error: string | null = null
  ) {
    super();
    this.addClass('aw-AccessForm');
  }

  getValue(): IRequestForm {
    const field = (name: string) =>
      (this.node.querySelector(`[name="${name}"]`) as HTMLInputElement | null)?.value ?? '';
    return {
      target: this._table ?? field('target'),
      reason: field('reason'),
      days: field('days'),
      rows: field('rows')
    };
  }

  protected render(): JSX.Element {
    return (
      <div className="aw-AccessForm-body" data-testid="access-request-form">
        {this._error && (
          <p className="aw-AccessForm-error" role="alert" data-testid="access-form-error">
            {this._error}
          </p>
        )}
        {this._table ? (
          <p>
            <code>{this._table}</code> is protected. The approvers read your reason; the grant ends
            by itself after the days you ask for.
          </p>
        ) : (
          <label>
            Table (layer.table) or tier
            <input name="target" className="jp-mod-styled" data-testid="access-target" />
          </label>
        )}
        <label>
          Reason
          <textarea
            name="reason"
            className="jp-mod-styled"
            rows={3}
            data-testid="access-reason"
            placeholder="What you need it for"
          />
        </label>
        <label>
          Days
          <input
            name="days"
            type="number"
            min={1}
            max={365}
            defaultValue={DEFAULT_DAYS}
            className="jp-mod-styled"
            data-testid="access-days"
          />
        </label>
        <label>
          Only these rows (optional)
          <input
            name="rows"
            className="jp-mod-styled"
            data-testid="access-rows"
            placeholder="e.g. region = 'EUROPE'"
          />
        </label>
      </div>
    );
  }
}

/** The table's owner from the catalog listing (world-readable), or null. */
async function ownerOf(table: string): Promise<string | null> {
  try {
    const page = await catalog.tables({ q: table, offset: 0, limit: 20 });
    return page.tables.find(t => t.name === table)?.owner ?? null;
  } catch {
    return null;
  }
}

/** Tell the result: the request's id and its approvers, or the refusal. */
function Result(props: {
  request: IAccessRequest | null;
  approvers: string;
  error: string | null;
}): JSX.Element {
  if (props.error || !props.request) {
    return (
      <div className="aw-AccessResult" data-testid="access-request-result" data-ok="false">
        <p role="alert">{props.error}</p>
      </div>
    );
  }
  const r = props.request;
  return (
    <div
      className="aw-AccessResult"
      data-testid="access-request-result"
      data-ok="true"
      data-request-id={r.id}
    >
      <p>
        Request <strong>#{r.id}</strong> for <code>{targetLabel(r.target)}</code> ({r.days} days) is
        pending.
      </p>
      <p>Approvers: {props.approvers}. They were notified; the Access panel shows its status.</p>
    </div>
  );
}

/**
 * Ask for access to `table` (or, when null, to a table or tier the user types). Resolves
 * to the created request, or null when cancelled or refused (the refusal is shown).
 */
export async function requestAccess(table: string | null): Promise<IAccessRequest | null> {
  let error: string | null = null;
  for (;;) {
    const form = new RequestForm(table, error);
    const answer = await showDialog<IRequestForm>({
      title: table ? `Request access to ${table}` : 'Request access',
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Request access' })]
    });
    if (!answer.button.accept || !answer.value) {
      return null;
    }
    const { target, reason, days, rows } = answer.value;
    const body = validateRequest(target, reason, days, rows);
    if (typeof body === 'string') {
      error = body; // ask again, with what was wrong
      continue;
    }
    let request: IAccessRequest | null = null;
    let refusal: string | null = null;
    try {
      request = await access.request(body);
    } catch (err) {
      refusal = errorMessage(err);
    }
    const asked = request ? targetTable(request.target) : null;
    const approvers = approversText(asked ? await ownerOf(asked) : null);
    await showDialog({
      title: request ? 'Access requested' : 'Request refused',
      body: ReactWidget.create(<Result request={request} approvers={approvers} error={refusal} />),
      buttons: [Dialog.okButton({ label: 'Close' })]
    });
    return request;
  }
}
