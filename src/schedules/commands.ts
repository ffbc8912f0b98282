/**
 * The ids of the schedule commands: the section's buttons, the run dialog
 * and the notifications run them.
 */
export namespace ScheduleCommandIDs {
  /** Show the Schedules section; `{ select: id }` opens a schedule's detail. */
  export const open = 'dataops:open-schedules';
  /** Turn a notebook into a schedule: the run dialog in schedule mode. */
  export const scheduleNotebook = 'dataops:schedule-notebook';
  export const runNow = 'dataops:run-schedule-now';
  export const pause = 'dataops:pause-schedule';
  export const resume = 'dataops:resume-schedule';
  export const edit = 'dataops:edit-schedule';
  export const remove = 'dataops:delete-schedule';
  export const refresh = 'dataops:refresh-schedules';
  /** Show a schedule's runs in the Jobs section (its `schedule_id` filter). */
  export const showRuns = 'dataops:show-schedule-runs';
}
