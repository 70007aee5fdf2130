import { LabIcon } from '@jupyterlab/ui-components';

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
