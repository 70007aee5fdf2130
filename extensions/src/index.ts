import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { catalogPlugin } from './catalog';
import { healthPlugin } from './health';
import { paramsPlugin } from './params';
import { resultsPlugin } from './results';
import runsPlugins from './runs';
import schedulePlugins from './schedule';
import { sqlPlugin } from './sql';

export * from './api';

const plugins: JupyterFrontEndPlugin<any>[] = [
  catalogPlugin,
  healthPlugin,
  paramsPlugin,
  resultsPlugin,
  ...runsPlugins,
  ...schedulePlugins,
  sqlPlugin
];

export default plugins;
