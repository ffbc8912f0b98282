/**
 * The DataOps icon, shown on the sidebar's tab and the run buttons.
 */
import { LabIcon } from '@jupyterlab/ui-components';

// A notebook feeding a pipeline of three stages.
const DATAOPS_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M4 3h9a1 1 0 0 1 1 1v5h-2V5H5v14h7v-2h2v3a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1z"/>
    <path d="M7 7h3v2H7zM7 11h3v2H7zM7 15h3v2H7z"/>
    <circle cx="17" cy="8" r="2.5"/>
    <circle cx="20" cy="14" r="2.5"/>
    <circle cx="17" cy="20" r="2.5"/>
    <path d="M16.2 9.9l2.1 2.3-1.1 1-2.1-2.3zM18.3 15.8l-1.3 2.1-1.3-.8 1.3-2.1z"/>
  </g>
</svg>`;

export const dataOpsIcon = new LabIcon({
  name: 'jupyter-dataops:dataops',
  svgstr: DATAOPS_SVG
});
