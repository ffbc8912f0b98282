/**
 * Everything about snapshots: types, client, model, the Snapshots section,
 * its dialogs and diff view, and the plugins that wire them up.
 */
export * from './types';
export * from './client';
export * from './format';
export * from './model';
export { SnapshotCommandIDs } from './commands';
export { KindTag, PushBadge } from './badges';
export { DiffView, LoadedDiff, SnapshotDiffWidget } from './diff';
export {
  confirmRestore,
  ITakeChoice,
  openTakeDialog,
  takeRequest
} from './dialogs';
export {
  executeInKernel,
  KernelCodeError,
  loadCode,
  parseSnapshotOutput,
  takeCode
} from './kernel';
export {
  createTakeButton,
  matchesSnapshotQuery,
  SnapshotsSection
} from './section';
export { SNAPSHOTS_SECTION_ID } from './plugins';
