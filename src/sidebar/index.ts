/**
 * The DataOps sidebar: a host of sections, one per capability.
 */
export * from './host';
export * from './plugin';
