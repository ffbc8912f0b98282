/**
 * The ids of the endpoint commands: the section's buttons, the cell toolbar,
 * the command palette and the notifications run them.
 */
export namespace EndpointCommandIDs {
  /** Show the Endpoints section; `{ select: name }` opens an endpoint's detail. */
  export const open = 'dataops:open-endpoints';
  /**
   * Reveal endpoint `{ name }` in the Endpoints section (its detail open);
   * other sections run it by this id, without importing this module.
   */
  export const openEndpoint = 'dataops:open-endpoint';
  /**
   * Publish a model the active cell defined: the dialog asks the notebook's
   * kernel for its candidates, then runs `%dataops publish` there.
   */
  export const publish = 'dataops:publish-model';
  /** Start a stopped endpoint `{ name }`. */
  export const start = 'dataops:start-endpoint';
  /** Stop endpoint `{ name }` (it stays stopped across restarts). */
  export const stop = 'dataops:stop-endpoint';
  /** Start endpoint `{ name }`'s server again. */
  export const restart = 'dataops:restart-endpoint';
  /** Serve the version endpoint `{ name }` served before. */
  export const rollback = 'dataops:rollback-endpoint';
  /** Serve `{ version }` (default: the canary) to all of `{ name }`'s requests. */
  export const promote = 'dataops:promote-endpoint';
  /** Split `{ name }`'s traffic: `{ canary_version, percent }`. */
  export const traffic = 'dataops:split-endpoint-traffic';
  /** Delete endpoint `{ name }`, after confirming. */
  export const remove = 'dataops:delete-endpoint';
  export const refresh = 'dataops:refresh-endpoints';
}
