/**
 * "Classify…" in a table's detail: its owner and the legal group set the tier and the PII
 * masks (`POST jobs/governance/classify`, run by the scheduler service as root; the
 * choices come from `GET jobs/governance/classify`). Others see why they may not.
 */
import * as React from 'react';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';

import { ITableDetail, errorMessage, governance } from '../../api';
import { IClassifyView, IPiiChoice, classifyBody, isLowering, resultText } from './classifymodel';

interface IClassifyForm {
  tier: string;
  choices: IPiiChoice[];
  approve: boolean;
}

const TIER_NOTES: { [kind: string]: string } = {
  open: 'in the shared lake',
  protected: 'its own lake; readers need a grant',
  encrypted: 'its own lake, files encrypted; readers need a grant'
};

/** The form: a tier, a PII mask per column, and the approval of a lowering. */
class ClassifyForm extends ReactWidget implements Dialog.IBodyWidget<IClassifyForm> {
  constructor(
    private readonly _view: IClassifyView,
    private readonly _columns: string[],
    private readonly _error: string | null,
    private readonly _last: IClassifyForm | null
  ) {
    super();
    this.addClass('aw-ClassifyForm');
  }

  getValue(): IClassifyForm {
    const el = (sel: string) => this.node.querySelector(sel) as HTMLInputElement | null;
    return {
      tier: (el('[name="tier"]') as unknown as HTMLSelectElement | null)?.value ?? '',
      choices: this._columns.map(column => ({
        column,
        pii: !!el(`[data-pii="${column}"]`)?.checked,
        mask: (el(`[data-mask="${column}"]`) as unknown as HTMLSelectElement | null)?.value ?? ''
      })),
      approve: !!el('[name="approve"]')?.checked
    };
  }

  protected render(): JSX.Element {
    const v = this._view;
    const last = this._last;
    const chosen = (column: string) => last?.choices.find(c => c.column === column);
    return (
      <div className="aw-AccessForm-body" data-testid="classify-form">
        {this._error && (
          <p className="aw-AccessForm-error" role="alert" data-testid="classify-error">
            {this._error}
          </p>
        )}
        <label>
          Tier
          <select
            name="tier"
            className="jp-mod-styled"
            data-testid="classify-tier"
            defaultValue={last?.tier ?? v.tier}
          >
            {v.tiers.map(t => (
              <option key={t.name} value={t.name}>
                {t.name} (
                {TIER_NOTES[t.encrypted ? 'encrypted' : t.protected ? 'protected' : 'open']})
              </option>
            ))}
          </select>
        </label>
        <fieldset className="aw-ClassifyForm-pii">
          <legend>Personal data (masked in {v.table}_masked when the tier is protected)</legend>
          {this._columns.map(column => (
            <div key={column} className="aw-ClassifyForm-column">
              <label>
                <input
                  type="checkbox"
                  data-pii={column}
                  defaultChecked={chosen(column)?.pii ?? column in v.pii}
                />
                <code>{column}</code>
              </label>
              <select
                className="jp-mod-styled"
                data-mask={column}
                defaultValue={chosen(column)?.mask ?? v.pii[column] ?? v.default_mask}
              >
                {v.masks.map(m => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            </div>
          ))}
        </fieldset>
        {v.may_lower ? (
          <label className="aw-ClassifyForm-check">
            <input type="checkbox" name="approve" data-testid="classify-approve" />
            Approve lowering the tier (audited; alerts the security group)
          </label>
        ) : null}
      </div>
    );
  }
}

/** Ask for a classification of `detail`, send it, tell the result; true when it changed. */
export async function classifyTable(detail: ITableDetail): Promise<boolean> {
  let view: IClassifyView;
  try {
    view = await governance.classification(detail.name);
  } catch (err) {
    await showDialog({
      title: 'Cannot classify',
      body: errorMessage(err),
      buttons: [Dialog.okButton({ label: 'Close' })]
    });
    return false;
  }
  if (!view.may_classify) {
    await showDialog({
      title: `Classify ${detail.name}`,
      body: view.why_not ?? 'You may not classify this table.',
      buttons: [Dialog.okButton({ label: 'Close' })]
    });
    return false;
  }
  const columns = detail.columns.map(c => c.name);
  let error: string | null = null;
  let last: IClassifyForm | null = null;
  for (;;) {
    const answer = await showDialog<IClassifyForm>({
      title: `Classify ${detail.name}`,
      body: new ClassifyForm(view, columns, error, last),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Classify' })]
    });
    if (!answer.button.accept || !answer.value) {
      return false;
    }
    const form: IClassifyForm = answer.value;
    last = form;
    const body = classifyBody(view, form.tier, form.choices, form.approve);
    if (typeof body === 'string') {
      error = body;
      continue;
    }
    try {
      const result = await governance.classify(body);
      await showDialog({
        title: 'Classified',
        body: ReactWidget.create(<p data-testid="classify-result">{resultText(result)}</p>),
        buttons: [Dialog.okButton({ label: 'Close' })]
      });
      return true;
    } catch (err) {
      error = errorMessage(err); // ask again, with the service's answer
      if (isLowering(view, form.tier) && !view.may_lower) {
        return false;
      }
    }
  }
}

/** The header's "Classify…" button. */
export function ClassifyButton(props: { detail: ITableDetail; onDone: () => void }): JSX.Element {
  const [busy, setBusy] = React.useState(false);
  return (
    <button
      className="aw-ActionButton"
      data-testid="classify"
      disabled={busy}
      title={`Set the tier and the personal-data masks of ${props.detail.name} (its owner and the legal group)`}
      onClick={() => {
        setBusy(true);
        void classifyTable(props.detail)
          .then(changed => changed && props.onDone())
          .finally(() => setBusy(false));
      }}
    >
      {busy ? 'Classifying…' : 'Classify…'}
    </button>
  );
}
