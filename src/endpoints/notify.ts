/**
 * Drift notifications: when an endpoint's requests drift over its
 * threshold (an event's `drifted` flag, a newer drift score, a drift
 * report), a warning says so once per crossing, with a button that opens
 * the endpoint.
 */
import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { IDisposable } from '@lumino/disposable';

import { IDriftCrossing, IEndpointsModel } from '../tokens';
import { EndpointCommandIDs } from './commands';
import { formatScore, isDrifted } from './format';

/** The words of a drift warning. */
export function driftMessage(
  crossing: IDriftCrossing,
  trans: TranslationBundle
): string {
  if (crossing.score !== null && crossing.threshold !== null) {
    return trans.__(
      'Endpoint %1: requests drifted from the reference data (score %2, over the threshold %3).',
      crossing.name,
      formatScore(crossing.score),
      formatScore(crossing.threshold)
    );
  }
  return trans.__(
    'Endpoint %1: requests drifted from the reference data, over its threshold.',
    crossing.name
  );
}

/** Warn of each drift crossing the model tells; dispose the result to stop. */
export function notifyDriftCrossings(
  model: IEndpointsModel,
  commands: CommandRegistry,
  trans: TranslationBundle
): IDisposable {
  const warn = (crossing: IDriftCrossing) => {
    Notification.warning(driftMessage(crossing, trans), {
      autoClose: 15000,
      actions: [
        {
          label: trans.__('Show'),
          callback: () =>
            void commands.execute(EndpointCommandIDs.open, {
              select: crossing.name
            })
        }
      ]
    });
  };
  const onCrossed = (_: unknown, crossing: IDriftCrossing) => {
    if (crossing.score !== null) {
      warn(crossing);
      return;
    }
    // An event said it crossed: the endpoint itself has the score.
    model.client
      .getEndpoint(crossing.name)
      .then(endpoint =>
        warn(
          endpoint && isDrifted(endpoint)
            ? {
                ...crossing,
                score: endpoint.drift_score,
                threshold: endpoint.drift_threshold
              }
            : crossing
        )
      )
      .catch(() => warn(crossing));
  };
  model.driftCrossed.connect(onCrossed);
  let disposed = false;
  return {
    get isDisposed() {
      return disposed;
    },
    dispose() {
      if (!disposed) {
        disposed = true;
        model.driftCrossed.disconnect(onCrossed);
      }
    }
  };
}
