/**
 * Everything about model endpoints: types, client, model, the Endpoints
 * section with its chart and detail, the publish dialog and the kernel code
 * it runs, and the plugins that wire them up.
 */
export * from './types';
export * from './client';
export * from './format';
export * from './model';
export * from './kernel';
export { EndpointCommandIDs } from './commands';
export {
  CopyButton,
  DriftBadge,
  RateSparkline,
  StatusBadge,
  VersionSplit
} from './badges';
export {
  areaPath,
  linePath,
  MetricsChart,
  niceMax,
  versionShares
} from './chart';
export { DriftView, EndpointDetail, InvokeAnswer, SnippetTabs } from './detail';
export {
  ALL_INTERFACES_HOST,
  chosenServeTarget,
  clusterTarget,
  confirmDeleteEndpoint,
  initialPublishInput,
  IPublishInput,
  IPublishPanelProps,
  IServeOffer,
  isLoopbackHost,
  LOOPBACK_HOST,
  notServedText,
  offerOf,
  openPublishDialog,
  publishChoice,
  PublishForm,
  PublishPanel,
  PublishProgress,
  ServeField,
  serveHost,
  serveOffer,
  ServeOfferLike,
  servesLocally,
  servesOnCluster,
  ServeTarget,
  serveTargetOf,
  tokenCommand
} from './dialogs';
export { driftMessage, notifyDriftCrossings } from './notify';
export {
  catalogueOrder,
  createPublishButton,
  EndpointsSection,
  EndpointsView,
  IEndpointsViewProps
} from './section';
export { PublishSteps } from './steps';
export { ENDPOINTS_SECTION_ID } from './plugins';
