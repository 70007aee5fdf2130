import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { accessPlugin } from './access';
import { catalogPlugin } from './catalog';
import { healthPlugin } from './health';
import { paramsPlugin } from './params';
import { resultsPlugin } from './results';
import runsPlugins from './runs';
import schedulePlugins from './schedule';
import { sqlPlugin } from './sql';

export * from './api';

const plugins: JupyterFrontEndPlugin<any>[] = [
  accessPlugin,
  catalogPlugin,
  healthPlugin,
  paramsPlugin,
  resultsPlugin,
  ...runsPlugins,
  ...schedulePlugins,
  sqlPlugin
];

export default plugins;
