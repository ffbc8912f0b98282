/**
 * User-facing names of endpoint statuses and history actions, translated.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { EndpointStatus } from './types';

export function endpointStatusLabel(
  status: EndpointStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'starting':
      return trans.__('Starting');
    case 'running':
      return trans.__('Running');
    case 'stopped':
      return trans.__('Stopped');
    case 'failed':
      return trans.__('Failed');
  }
}

/** What a status means, for tooltips. */
export function endpointStatusHelp(
  status: EndpointStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'starting':
      return trans.__('Its server is loading the model');
    case 'running':
      return trans.__('Answering on its URL');
    case 'stopped':
      return trans.__('Stopped on purpose: start it to serve again');
    case 'failed':
      return trans.__('It could not start, or crashed and could not restart');
  }
}

/**
 * An action of an endpoint's history in words. The server names them
 * (`published`, `promoted`, ...); one it may add later shows as it is.
 */
export function historyActionLabel(
  action: string,
  trans: TranslationBundle
): string {
  switch (action) {
    case 'published':
    case 'publish':
      return trans.__('Published');
    case 'promoted':
    case 'promote':
      return trans.__('Promoted');
    case 'rolled_back':
    case 'rollback':
      return trans.__('Rolled back');
    case 'traffic':
    case 'split':
      return trans.__('Traffic split');
    case 'canary':
      return trans.__('Canary');
    case 'deleted':
    case 'delete':
      return trans.__('Deleted');
    case 'started':
    case 'start':
      return trans.__('Started');
    case 'stopped':
    case 'stop':
      return trans.__('Stopped');
    case 'restarted':
    case 'restart':
      return trans.__('Restarted');
    case 'failed':
      return trans.__('Failed');
    case 'recovered':
      return trans.__('Recovered');
    default:
      return action
        .replace(/_/g, ' ')
        .replace(/^./, first => first.toUpperCase());
  }
}
