/**
 * Access to protected tables in the Lab: the "Request access" command (and the button the
 * catalog shows on a refused table), and the Access sidebar panel where approvers decide
 * pending requests and everyone sees their requests and grants.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';

import { PALETTE_CATEGORY } from '../runs';
import { REQUEST_ACCESS, setCommandRunner } from './button';
import { requestAccess } from './dialog';
import { AccessPanel } from './panel';

export { REQUEST_ACCESS, RequestAccessButton } from './button';

export const OPEN_ACCESS = 'workspace:open-access';

export const accessPlugin: JupyterFrontEndPlugin<void> = {
  id: '@analytics-workspace/lab:access',
  description: 'Request access to protected tables; the Access panel of approvers.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const me = PageConfig.getOption('hubUser') || null;
    const panel = new AccessPanel(me);
    app.shell.add(panel, 'left', { rank: 330 });
    restorer?.add(panel, panel.id);

    app.commands.addCommand(REQUEST_ACCESS, {
      label: args => (args.table ? `Request Access to ${args.table}` : 'Request Access…'),
      caption: 'Ask the owner or the legal group for access to a protected table',
      execute: async args => {
        const table = typeof args.table === 'string' && args.table ? args.table : null;
        const made = await requestAccess(table);
        if (made && panel.isVisible) {
          void panel.refresh();
        }
        return made;
      }
    });
    app.commands.addCommand(OPEN_ACCESS, {
      label: 'Open Access',
      caption: 'Access requests to decide, your requests and your grants',
      execute: () => {
        app.shell.activateById(panel.id);
        void panel.refresh();
      }
    });
    setCommandRunner((id, args) => app.commands.execute(id, args));
    palette?.addItem({ command: REQUEST_ACCESS, category: PALETTE_CATEGORY });
    palette?.addItem({ command: OPEN_ACCESS, category: PALETTE_CATEGORY });
  }
};
