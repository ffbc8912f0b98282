/**
 * Everything about sandboxes: types, client, model, the pure helpers of the
 * list and the start form, the Sandboxes section with its detail, the start
 * dialog, and the plugins that wire them up.
 */
export * from './types';
export * from './client';
export * from './format';
export * from './labels';
export * from './model';
export * from './tokens';
export { SandboxCommandIDs } from './commands';
export { kernelEndText, SandboxDetail } from './detail';
export {
  IStartPanelProps,
  openStartDialog,
  StartForm,
  StartPanel
} from './dialog';
export { followSandboxes, ISandboxNews, sandboxNews } from './notify';
export {
  createStartButton,
  ISandboxesViewProps,
  ProvisionProgress,
  SandboxesSection,
  SandboxesView,
  SandboxStatusBadge,
  StopButton
} from './section';
export { SANDBOXES_SECTION_ID } from './plugins';
