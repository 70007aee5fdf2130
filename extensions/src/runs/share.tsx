/**
 * "Share" of the Pipelines panel: who reads a pipeline's reports besides its owner,
 * engineers and admins (`PUT jobs/pipelines/NAME/audience`). Hub groups are checkboxes,
 * users a comma-separated list; nothing checked and no user makes it private again.
 */
import * as React from 'react';

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';

import { IAudience } from '../api';

/** The hub groups of the team deployment (README "Hub groups map to roles"). */
export const AUDIENCE_GROUPS: ReadonlyArray<string> = [
  'stakeholders',
  'analysts',
  'scientists',
  'engineers'
];

/** "Private", or who it is shared with ("stakeholders, carol"). */
export function audienceLabel(audience: IAudience | null | undefined): string {
  const who = [...(audience?.groups ?? []), ...(audience?.users ?? [])];
  return who.length ? who.join(', ') : 'Private';
}

/** Split "carol, dave ,, erin" into user names. */
export function parseUsers(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map(u => u.trim())
    .filter(u => u.length > 0);
}

class AudienceBody extends ReactWidget implements Dialog.IBodyWidget<IAudience> {
  constructor(pipeline: string, current: IAudience | null | undefined) {
    super();
    this.addClass('awr-ShareDialog');
    this._pipeline = pipeline;
    this._groups = new Set(current?.groups ?? []);
    this._users = (current?.users ?? []).join(', ');
  }

  getValue(): IAudience {
    return { groups: [...this._groups].sort(), users: parseUsers(this._users) };
  }

  render(): JSX.Element {
    const groups = [
      ...AUDIENCE_GROUPS,
      ...[...this._groups].filter(g => !AUDIENCE_GROUPS.includes(g))
    ];
    return (
      <div data-testid="share-dialog">
        <p className="awr-ShareDialog-text">
          Who may read the reports of <b>{this._pipeline}</b>, besides you, engineers and admins.
          Nothing checked and no user: private.
        </p>
        <fieldset className="awr-ShareDialog-groups">
          <legend>Groups</legend>
          {groups.map(g => (
            <label key={g} className="awr-ShareDialog-group">
              <input
                type="checkbox"
                data-testid="share-group"
                data-group={g}
                defaultChecked={this._groups.has(g)}
                onChange={e => {
                  if (e.currentTarget.checked) {
                    this._groups.add(g);
                  } else {
                    this._groups.delete(g);
                  }
                }}
              />{' '}
              {g}
            </label>
          ))}
        </fieldset>
        <label className="awr-ShareDialog-users">
          Users (comma-separated)
          <input
            type="text"
            className="jp-mod-styled"
            data-testid="share-users"
            placeholder="carol, dave"
            defaultValue={this._users}
            onChange={e => {
              this._users = e.currentTarget.value;
            }}
          />
        </label>
      </div>
    );
  }

  private _pipeline: string;
  private _groups: Set<string>;
  private _users: string;
}

/**
 * Ask who may read the reports of `pipeline`; `null` when the dialog is cancelled.
 */
export async function askAudience(
  pipeline: string,
  current: IAudience | null | undefined
): Promise<IAudience | null> {
  const result = await showDialog<IAudience>({
    title: `Share ${pipeline}`,
    body: new AudienceBody(pipeline, current),
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: 'Save', ariaLabel: 'Save the audience' })
    ],
    focusNodeSelector: 'input[type="checkbox"]'
  });
  return result.button.accept ? result.value : null;
}
