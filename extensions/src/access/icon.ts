/** The Access panel's sidebar icon: a key. */
import { LabIcon } from '@jupyterlab/ui-components';

export const accessIcon = new LabIcon({
  name: 'analytics-workspace:access',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M7.5 8a5.5 5.5 0 1 1 4.9 5.47L11 15h-2v2H7v2H3v-3.6l5.1-5.1A5.5 5.5 0 0 1 7.5 8zm5.5-2a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z"/>
  </g>
</svg>`
});
