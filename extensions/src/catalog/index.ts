import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

/** The catalog browser: left sidebar panel and table detail widgets. */
export const catalogPlugin: JupyterFrontEndPlugin<void> = {
  id: '@analytics-workspace/lab:catalog',
  description: 'Browse the lake catalog: layers, tables, schema, preview.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    console.log('Analytics Workspace catalog activated');
  }
};
