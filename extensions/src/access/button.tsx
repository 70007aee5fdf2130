/**
 * The "Request access" button the catalog's table detail shows when the server refuses a
 * protected table (403 "X is confidential: request access ..."). It runs the
 * `workspace:request-access` command, so the catalog needs no other part of this plugin;
 * without the Access plugin it renders nothing.
 */
import * as React from 'react';

import { APIError } from '../api';
import { refusedTable } from './model';

/** Command id of "Request access" (args: `table`). */
export const REQUEST_ACCESS = 'workspace:request-access';

let runCommand: ((id: string, args: { table: string }) => Promise<unknown>) | null = null;

/** Called by the Access plugin when it starts. */
export function setCommandRunner(run: typeof runCommand): void {
  runCommand = run;
}

/** The protected table an error refuses, or null for any other error. */
export function refusedBy(error: unknown): string | null {
  return error instanceof APIError && error.status === 403 ? refusedTable(error.message) : null;
}

/** "Request access" for `table` if `error` is an access refusal; else nothing. */
export function RequestAccessButton(props: { table: string; error: unknown }): JSX.Element | null {
  const run = runCommand;
  if (!run || !refusedBy(props.error)) {
    return null;
  }
  return (
    <div className="aw-RequestAccess">
      <button
        className="jp-Button jp-mod-styled jp-mod-accept aw-Button"
        data-testid="request-access"
        onClick={() => void run(REQUEST_ACCESS, { table: props.table })}
      >
        Request access
      </button>
    </div>
  );
}
