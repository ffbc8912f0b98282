/**
 * The jupyter-dataops JupyterLab extension.
 *
 * The sidebar plugin provides `IDataOpsSidebar`, a host of sections; each
 * capability adds its own section through it. Jobs is the first: its model
 * plugin provides `IJobsModel`, its section plugin adds the Jobs section and
 * the job commands, and its run plugin adds "Run as job…". Schedules come
 * next: their model plugin provides `ISchedulesModel` (and notifies failed
 * scheduled runs), their section plugin adds the Schedules section, the
 * schedule commands and "Schedule…". Snapshots come after: their model
 * plugin provides `ISnapshotsModel`, their section plugin adds the Snapshots
 * section, the snapshot commands and "Take snapshot" (palette, notebook
 * toolbar). Endpoints come last: their model plugin provides
 * `IEndpointsModel`, their section plugin adds the Endpoints section (the
 * catalogue of served models, each with its traffic chart, drift, "Try it"
 * and snippets), the endpoint commands, drift warnings and "Publish model"
 * (palette, section heading, code cell toolbar and context menu). Sandboxes
 * follow: their model plugin provides `ISandboxesModel`, their section
 * plugin adds the Sandboxes section (start a sandbox from a profile, follow
 * its provisioning, open a notebook with its kernel, stop it) and keeps the
 * kernel picker in step.
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import {
  endpointsModelPlugin,
  endpointsSectionPlugin
} from './endpoints/plugins';
import { jobsModelPlugin, jobsSectionPlugin, runPlugin } from './jobs/plugins';
import {
  schedulesModelPlugin,
  schedulesSectionPlugin
} from './schedules/plugins';
import {
  sandboxesModelPlugin,
  sandboxesSectionPlugin
} from './sandboxes/plugins';
import { sidebarPlugin } from './sidebar/plugin';
import {
  snapshotsModelPlugin,
  snapshotsSectionPlugin
} from './snapshots/plugins';

export * from './api';
export * from './tokens';
export * from './collection';
export { DataOpsSidebar } from './sidebar';
export * from './jobs';
export * from './schedules';
export * from './snapshots';
export * from './endpoints';
export * from './sandboxes';

const plugins: JupyterFrontEndPlugin<any>[] = [
  sidebarPlugin,
  jobsModelPlugin,
  jobsSectionPlugin,
  runPlugin,
  schedulesModelPlugin,
  schedulesSectionPlugin,
  snapshotsModelPlugin,
  snapshotsSectionPlugin,
  endpointsModelPlugin,
  endpointsSectionPlugin,
  sandboxesModelPlugin,
  sandboxesSectionPlugin
];

export default plugins;
