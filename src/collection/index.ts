/**
 * The generic collection: one model and a few views for every paged,
 * filtered, live-updated list of the DataOps sidebar.
 */
export * from './model';
export * from './views';
export * from './section';
export * from './heading';
