/**
 * The ids of the snapshot commands: the section's buttons, the notebook
 * toolbar, the command palette and the notifications run them.
 */
export namespace SnapshotCommandIDs {
  /** Show the Snapshots section; `{ select: id }` opens a snapshot's detail. */
  export const open = 'dataops:open-snapshots';
  /**
   * Reveal snapshot `{ id }` in the Snapshots section (its detail open);
   * other sections (a job's "Snapshot") run it by this id, without
   * importing this module.
   */
  export const openSnapshot = 'dataops:open-snapshot';
  /** Take a snapshot of the project: the dialog (which offers to set it up). */
  export const take = 'dataops:take-snapshot';
  /** Restore a snapshot `{ id, paths? }`, after confirming. */
  export const restore = 'dataops:restore-snapshot';
  /** Push a snapshot's data `{ id }` to the DVC remote now. */
  export const push = 'dataops:push-snapshot';
  /**
   * Load snapshot `{ id, names? }`'s saved variables into the current
   * notebook's kernel (`%dataops snapshots load`), reporting what it loaded.
   */
  export const loadVariables = 'dataops:load-snapshot-variables';
  /** Show what changed from snapshot `a` to `b` in a main area tab. */
  export const compare = 'dataops:compare-snapshots';
  export const refresh = 'dataops:refresh-snapshots';
}
