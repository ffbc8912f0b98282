/**
 * Icons of the Schedules section: a clock for the section and active
 * schedules, a paused clock for paused ones.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const SCHEDULE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16z"/>
    <path d="M12.75 7h-1.5v5.6l4.4 2.7.8-1.25-3.7-2.2z"/>
  </g>
</svg>`;

const ACTIVE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16z"/>
  <path fill="currentColor" d="M12.75 7h-1.5v5.6l4.4 2.7.8-1.25-3.7-2.2z"/>
</svg>`;

const PAUSED_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path fill="currentColor" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16z"/>
  <path fill="currentColor" d="M8.5 7.5h2.5v9H8.5zM13 7.5h2.5v9H13z"/>
</svg>`;

/** The Schedules section's icon. */
export const scheduleIcon = new LabIcon({
  name: 'jupyter-dataops:schedule',
  svgstr: SCHEDULE_SVG
});

/** One icon per schedule status. */
export const scheduleStatusIcons = {
  active: new LabIcon({
    name: 'jupyter-dataops:schedule-active',
    svgstr: ACTIVE_SVG
  }),
  paused: new LabIcon({
    name: 'jupyter-dataops:schedule-paused',
    svgstr: PAUSED_SVG
  })
};
