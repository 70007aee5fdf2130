import { LabIcon } from '@jupyterlab/ui-components';

/** Sidebar icon of the Pipelines panel: a play button inside a clock ring. */
export const pipelinesIcon = new LabIcon({
  name: 'analytics-workspace:pipelines',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16z"/>
    <path d="M10 7.8v8.4a.6.6 0 0 0 .92.5l6.3-4.2a.6.6 0 0 0 0-1L10.92 7.3a.6.6 0 0 0-.92.5z"/>
  </g>
</svg>`
});

/** A clock, for "Schedule". */
export const clockIcon = new LabIcon({
  name: 'analytics-workspace:clock',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16z"/>
    <path d="M11 6.5h2v5.1l3.6 2.1-1 1.7-4.6-2.7z"/>
  </g>
</svg>`
});

/** A small play triangle (Trigger). */
export const playIcon = new LabIcon({
  name: 'analytics-workspace:play',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161"><path d="M8 5.5v13a.8.8 0 0 0 1.2.7l10-6.5a.8.8 0 0 0 0-1.4l-10-6.5A.8.8 0 0 0 8 5.5z"/></g>
</svg>`
});

/** Pause (two bars). */
export const pauseIcon = new LabIcon({
  name: 'analytics-workspace:pause',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161"><rect x="6.5" y="5" width="4" height="14" rx="1"/><rect x="13.5" y="5" width="4" height="14" rx="1"/></g>
</svg>`
});

/** Resume (play in a circle outline, to tell it from Trigger). */
export const resumeIcon = new LabIcon({
  name: 'analytics-workspace:resume',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161"><path d="M5 5h2.5v14H5z"/><path d="M10 5.5v13a.8.8 0 0 0 1.2.7l9-6.5a.8.8 0 0 0 0-1.4l-9-6.5a.8.8 0 0 0-1.2.7z"/></g>
</svg>`
});

/** Share (three connected dots). */
export const shareIcon = new LabIcon({
  name: 'analytics-workspace:share',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161"><path d="M18 16.1c-.8 0-1.5.3-2 .8l-7.1-4.2c.1-.2.1-.5.1-.7s0-.5-.1-.7l7-4.1c.5.5 1.3.8 2.1.8 1.7 0 3-1.3 3-3s-1.3-3-3-3-3 1.3-3 3c0 .2 0 .5.1.7l-7 4.1C7.5 8.3 6.8 8 6 8c-1.7 0-3 1.3-3 3s1.3 3 3 3c.8 0 1.5-.3 2.1-.8l7.1 4.2c-.1.2-.1.4-.1.6 0 1.6 1.3 2.9 2.9 2.9s2.9-1.3 2.9-2.9-1.3-2.9-2.9-2.9z"/></g>
</svg>`
});
