import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { catalogPlugin } from './catalog';
import { resultsPlugin } from './results';
import runsPlugins from './runs';
import schedulePlugins from './schedule';

export * from './api';

const plugins: JupyterFrontEndPlugin<any>[] = [
  catalogPlugin,
  resultsPlugin,
  ...runsPlugins,
  ...schedulePlugins
];

export default plugins;
