/**
 * Everything about jobs: types, client, model, the Jobs section, the run
 * dialog, the log and HTML viewers, and the plugins that wire them up.
 */
export * from './types';
export * from './client';
export * from './model';
export * from './logs';
export { CommandIDs } from './commands';
export { addJobActions } from './actions';
export { JobsSection, matchesQuery } from './section';
export { openRunDialog, RunJobBody } from './runDialog';
export { JOBS_SECTION_ID } from './plugins';
