/**
 * One icon per job status.
 */
import { LabIcon } from '@jupyterlab/ui-components';

import { JobStatus } from './types';

const QUEUED_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zm.5-13H11v6l5.2 3.2.8-1.3-4.5-2.7z"/>
</svg>`;

const RUNNING_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" opacity=".3" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16z"/>
  <path fill="currentColor" d="M12 2a10 10 0 0 1 10 10h-2a8 8 0 0 0-8-8z"/>
  <path fill="currentColor" d="M10 8l6 4-6 4z"/>
</svg>`;

const COMPLETED_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm-2 15l-5-5 1.4-1.4 3.6 3.6 7.6-7.6L19 8z"/>
</svg>`;

const FAILED_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm5 13.6L15.6 17 12 13.4 8.4 17 7 15.6 10.6 12 7 8.4 8.4 7l3.6 3.6L15.6 7 17 8.4 13.4 12z"/>
</svg>`;

const CANCELLED_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zM4 12a8 8 0 0 1 12.9-6.3L5.7 16.9A8 8 0 0 1 4 12zm8 8a8 8 0 0 1-4.9-1.7L18.3 7.1A8 8 0 0 1 12 20z"/>
</svg>`;

export const statusIcons: { [status in JobStatus]: LabIcon } = {
  queued: new LabIcon({ name: 'jupyter-dataops:queued', svgstr: QUEUED_SVG }),
  running: new LabIcon({
    name: 'jupyter-dataops:running',
    svgstr: RUNNING_SVG
  }),
  completed: new LabIcon({
    name: 'jupyter-dataops:completed',
    svgstr: COMPLETED_SVG
  }),
  failed: new LabIcon({ name: 'jupyter-dataops:failed', svgstr: FAILED_SVG }),
  cancelled: new LabIcon({
    name: 'jupyter-dataops:cancelled',
    svgstr: CANCELLED_SVG
  })
};
