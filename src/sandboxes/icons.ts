/**
 * Icons of the Sandboxes section: a box for the section and "Start".
 */
import { LabIcon } from '@jupyterlab/ui-components';

const SANDBOX_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2 3 6.5v11L12 22l9-4.5v-11zm0 2.24 6.53 3.26L12 10.76 5.47 7.5zM5 9.12l6 3v7.64l-6-3zm8 10.64v-7.64l6-3v7.64z"/>
  </g>
</svg>`;

const START_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M8 5v14l11-7z"/>
  </g>
</svg>`;

/** The Sandboxes section's icon. */
export const sandboxIcon = new LabIcon({
  name: 'jupyter-dataops:sandbox',
  svgstr: SANDBOX_SVG
});

/** "Start a sandbox": a play triangle. */
export const startSandboxIcon = new LabIcon({
  name: 'jupyter-dataops:start-sandbox',
  svgstr: START_SVG
});
