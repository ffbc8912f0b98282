/**
 * Icons of the Endpoints section: a broadcasting node for the section and
 * a cloud with an arrow for "Publish model".
 */
import { LabIcon } from '@jupyterlab/ui-components';

const ENDPOINT_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="12" cy="12" r="2.5"/>
    <path d="M7.05 7.05a7 7 0 0 0 0 9.9l1.41-1.41a5 5 0 0 1 0-7.08zM16.95 7.05l-1.41 1.41a5 5 0 0 1 0 7.08l1.41 1.41a7 7 0 0 0 0-9.9zM4.22 4.22a11 11 0 0 0 0 15.56l1.41-1.41a9 9 0 0 1 0-12.74zM19.78 4.22l-1.41 1.41a9 9 0 0 1 0 12.74l1.41 1.41a11 11 0 0 0 0-15.56z"/>
  </g>
</svg>`;

const PUBLISH_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M19.35 10.04A7.49 7.49 0 0 0 12 4C9.11 4 6.6 5.64 5.35 8.04A5.994 5.994 0 0 0 0 14c0 3.31 2.69 6 6 6h13c2.76 0 5-2.24 5-5 0-2.64-2.05-4.78-4.65-4.96zM14 13v4h-4v-4H7l5-5 5 5h-3z"/>
  </g>
</svg>`;

/** The Endpoints section's icon. */
export const endpointIcon = new LabIcon({
  name: 'jupyter-dataops:endpoint',
  svgstr: ENDPOINT_SVG
});

/** "Publish model": a cloud with an arrow up. */
export const publishModelIcon = new LabIcon({
  name: 'jupyter-dataops:publish-model',
  svgstr: PUBLISH_SVG
});
