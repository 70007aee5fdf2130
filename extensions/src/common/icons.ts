/**
 * The LabIcons of the extension (sidebar tabs, main-area tabs, buttons), in one place.
 */
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

/** A database cylinder: the Catalog sidebar tab and table detail tabs. */
const CATALOG_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2C7.58 2 4 3.57 4 5.5v13C4 20.43 7.58 22 12 22s8-1.57 8-3.5v-13C20 3.57 16.42 2 12 2zm0 2c3.87 0 6 1.27 6 1.5S15.87 7 12 7 6 5.73 6 5.5 8.13 4 12 4zm6 14.5c0 .23-2.13 1.5-6 1.5s-6-1.27-6-1.5v-2.9c1.45.88 3.62 1.4 6 1.4s4.55-.52 6-1.4v2.9zm0-5c0 .23-2.13 1.5-6 1.5s-6-1.27-6-1.5v-2.9c1.45.88 3.62 1.4 6 1.4s4.55-.52 6-1.4v2.9zm0-5c0 .23-2.13 1.5-6 1.5S6 8.73 6 8.5V7.6C7.45 8.48 9.62 9 12 9s4.55-.52 6-1.4v.9z"/>
  </g>
</svg>`;

export const catalogIcon = new LabIcon({
  name: 'analytics-workspace:catalog',
  svgstr: CATALOG_SVG
});

/** A table grid: table items and the table detail tab. */
const TABLE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M4 3h16a1 1 0 0 1 1 1v16a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1zm1 6v4h6V9H5zm8 0v4h6V9h-6zm-8 6v4h6v-4H5zm8 0v4h6v-4h-6zM5 5v2h14V5H5z"/>
  </g>
</svg>`;

export const tableIcon = new LabIcon({
  name: 'analytics-workspace:table',
  svgstr: TABLE_SVG
});
