/**
 * Icons of the Snapshots section: a camera for the section and ready
 * snapshots, a spinner while one is taken, a broken camera for failed ones,
 * and the push states of their data (waiting, on the remote, failed).
 */
import { LabIcon } from '@jupyterlab/ui-components';

import { PushStatus, SnapshotStatus } from './types';

const SNAPSHOT_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M9 3L7.2 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3H9zm3 4.5a5 5 0 1 1 0 10 5 5 0 0 1 0-10zm0 2a3 3 0 1 0 0 6 3 3 0 0 0 0-6z"/>
  </g>
</svg>`;

const TAKE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M8 3L6.4 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h9.3a6.5 6.5 0 0 1-.3-2H4V7h3.3l1.6-2h5.2l1.6 2H20v4.3a6.5 6.5 0 0 1 2 1.2V7a2 2 0 0 0-2-2h-2.4L16 3H8z"/>
    <path d="M11 8a4.5 4.5 0 1 0 1.8 8.6 6.4 6.4 0 0 1 .6-2.2A2.5 2.5 0 1 1 13.5 11a6.6 6.6 0 0 1 1.8-1A4.5 4.5 0 0 0 11 8z"/>
    <path d="M18 13h1.6v2.4H22V17h-2.4v2.4H18V17h-2.4v-1.6H18z"/>
  </g>
</svg>`;

const READY_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" d="M9 3L7.2 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3H9zm3 4.5a5 5 0 1 1 0 10 5 5 0 0 1 0-10zm0 2a3 3 0 1 0 0 6 3 3 0 0 0 0-6z"/>
</svg>`;

const CREATING_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" opacity=".3" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16z"/>
  <path fill="currentColor" d="M12 2a10 10 0 0 1 10 10h-2a8 8 0 0 0-8-8z"/>
</svg>`;

const FAILED_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm5 13.6L15.6 17 12 13.4 8.4 17 7 15.6 10.6 12 7 8.4 8.4 7l3.6 3.6L15.6 7 17 8.4 13.4 12z"/>
</svg>`;

const PUSH_PENDING_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zm.5-13H11v6l5.2 3.2.8-1.3-4.5-2.7z"/>
</svg>`;

const PUSHED_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" d="M19.4 10A7.5 7.5 0 0 0 5.3 8 6 6 0 0 0 6 20h13a5 5 0 0 0 .4-10zM10 17l-3.5-3.5 1.4-1.4 2.1 2.1 5.1-5.1 1.4 1.4z"/>
</svg>`;

const PUSH_FAILED_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" d="M1 21h22L12 2 1 21zm12-3h-2v-2h2v2zm0-4h-2v-4h2v4z"/>
</svg>`;

/** The Snapshots section's icon. */
export const snapshotIcon = new LabIcon({
  name: 'jupyter-dataops:snapshot',
  svgstr: SNAPSHOT_SVG
});

/** "Take snapshot": a camera with a plus. */
export const takeSnapshotIcon = new LabIcon({
  name: 'jupyter-dataops:take-snapshot',
  svgstr: TAKE_SVG
});

/** One icon per snapshot status. */
export const snapshotStatusIcons: { [status in SnapshotStatus]: LabIcon } = {
  creating: new LabIcon({
    name: 'jupyter-dataops:snapshot-creating',
    svgstr: CREATING_SVG
  }),
  ready: new LabIcon({
    name: 'jupyter-dataops:snapshot-ready',
    svgstr: READY_SVG
  }),
  failed: new LabIcon({
    name: 'jupyter-dataops:snapshot-failed',
    svgstr: FAILED_SVG
  })
};

/** One icon per push status that shows one (`none` shows nothing). */
export const pushStatusIcons: {
  [status in Exclude<PushStatus, 'none'>]: LabIcon;
} = {
  pending: new LabIcon({
    name: 'jupyter-dataops:push-pending',
    svgstr: PUSH_PENDING_SVG
  }),
  pushed: new LabIcon({
    name: 'jupyter-dataops:pushed',
    svgstr: PUSHED_SVG
  }),
  failed: new LabIcon({
    name: 'jupyter-dataops:push-failed',
    svgstr: PUSH_FAILED_SVG
  })
};
