import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { catalogPlugin } from './catalog';
import { paramsPlugin } from './params';
import { resultsPlugin } from './results';
import runsPlugins from './runs';
import schedulePlugins from './schedule';
import { sqlPlugin } from './sql';

export * from './api';

const plugins: JupyterFrontEndPlugin<any>[] = [
  catalogPlugin,
  paramsPlugin,
  resultsPlugin,
  ...runsPlugins,
  ...schedulePlugins,
  sqlPlugin
];

export default plugins;
