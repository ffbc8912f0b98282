/**
 * The ids of the job commands: the section's buttons, the job actions and
 * the notifications run them.
 */
export namespace CommandIDs {
  export const runJob = 'dataops:run-job';
  export const openPanel = 'dataops:open-panel';
  export const openOutput = 'dataops:open-output';
  export const viewHtml = 'dataops:view-html';
  export const viewLogs = 'dataops:view-logs';
  export const cancelJob = 'dataops:cancel-job';
  export const rerunJob = 'dataops:rerun-job';
  export const deleteJob = 'dataops:delete-job';
  export const refresh = 'dataops:refresh';
}
