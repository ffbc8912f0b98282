/**
 * The ids of the sandbox commands: the section's buttons, the command
 * palette and the notifications run them.
 */
export namespace SandboxCommandIDs {
  /** Show the Sandboxes section; `{ select: id }` opens a sandbox's detail. */
  export const open = 'dataops:open-sandboxes';
  /** Open the start form. */
  export const start = 'dataops:start-sandbox';
  /** Stop sandbox `{ id }`. */
  export const stop = 'dataops:stop-sandbox';
  /** Create an untitled notebook with sandbox `{ id }`'s kernel. */
  export const openNotebook = 'dataops:open-notebook-in-sandbox';
  export const refresh = 'dataops:refresh-sandboxes';
}
