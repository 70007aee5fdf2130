/**
 * "Platform health" as a Lab tab: the reports service's health page (pipelines on time,
 * failures, tables needing a look, cost and storage), framed in the main area. Under a hub
 * only; the page itself decides who may see it (admins, engineers, stakeholders, legal,
 * security) and answers 403 to anyone else.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, IFrame, MainAreaWidget } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';

import { PALETTE_CATEGORY } from '../runs';
import { healthUrl } from './url';

export const OPEN_HEALTH = 'workspace:open-platform-health';

export const healthPlugin: JupyterFrontEndPlugin<void> = {
  id: '@analytics-workspace/lab:health',
  description: 'The platform health page of the reports service, as a Lab tab.',
  autoStart: true,
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, palette: ICommandPalette | null): void => {
    const url = healthUrl(PageConfig.getOption('hubPrefix'));
    let current: MainAreaWidget<IFrame> | null = null;
    app.commands.addCommand(OPEN_HEALTH, {
      label: 'Platform Health',
      caption: url
        ? 'Pipelines on time, failures, tables needing a look, cost and storage'
        : 'Available when the Lab runs under the workspace hub',
      isEnabled: () => url !== null,
      execute: () => {
        if (!url) {
          return;
        }
        if (current && !current.isDisposed) {
          current.content.url = url; // reload: the page is computed on each visit
          app.shell.activateById(current.id);
          return;
        }
        // The page has no script: allow-same-origin only sends the hub's login cookie.
        const frame = new IFrame({ sandbox: ['allow-same-origin'] });
        frame.url = url;
        current = new MainAreaWidget({ content: frame });
        current.id = 'workspace-platform-health';
        current.title.label = 'Platform Health';
        current.title.closable = true;
        app.shell.add(current, 'main');
      }
    });
    palette?.addItem({ command: OPEN_HEALTH, category: PALETTE_CATEGORY });
  }
};
