/**
 * Everything about schedules: types, client, model, the Schedules section,
 * the schedule fields of the run dialog, and the plugins that wire them up.
 */
export * from './types';
export * from './client';
export * from './cron';
export * from './definition';
export * from './model';
export { ScheduleCommandIDs } from './commands';
export { ScheduleFields, useCronPreview } from './form';
export { ScheduledRunNotifier } from './notify';
export { Sparkline } from './sparkline';
export { SchedulesSection, matchesScheduleQuery } from './section';
export { confirmDelete, openEditDialog, openRunNowDialog } from './dialogs';
export { SCHEDULES_SECTION_ID } from './plugins';
