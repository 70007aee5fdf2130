import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { catalogPlugin } from './catalog';
import runsPlugins from './runs';
import schedulePlugins from './schedule';

export * from './api';

const plugins: JupyterFrontEndPlugin<any>[] = [catalogPlugin, ...runsPlugins, ...schedulePlugins];

export default plugins;
