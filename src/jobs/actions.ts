/**
 * The actions every job's detail offers (open output, HTML, logs, cancel,
 * delete), each shown only where the job's state and the executor allow it.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { DisposableSet, IDisposable } from '@lumino/disposable';

import { IJobsModel } from '../tokens';
import { CommandIDs } from './commands';
import { isTerminal } from './types';

/** Add the built-in job actions; dispose the result to withdraw them. */
export function addJobActions(
  model: IJobsModel,
  trans: TranslationBundle
): IDisposable {
  const actions = new DisposableSet();
  actions.add(
    model.addAction({
      id: 'open-output',
      command: CommandIDs.openOutput,
      label: trans.__('Open output'),
      caption: job =>
        job.output_path ??
        trans.__('The executed notebook is written when the job runs.'),
      rank: 10,
      kind: 'primary',
      isEnabled: job => !!job.output_path
    })
  );
  actions.add(
    model.addAction({
      id: 'view-html',
      command: CommandIDs.viewHtml,
      label: trans.__('View HTML'),
      caption: trans.__('The executed notebook as HTML'),
      rank: 20,
      isEnabled: job => job.started_at !== null
    })
  );
  actions.add(
    model.addAction({
      id: 'view-logs',
      command: CommandIDs.viewLogs,
      label: trans.__('Logs'),
      caption: () =>
        model.capabilities.follow_logs
          ? trans.__('What the job printed and logged, followed as it runs')
          : trans.__('What the job printed and logged'),
      rank: 30,
      isVisible: () => model.capabilities.logs
    })
  );
  actions.add(
    model.addAction({
      id: 'cancel',
      command: CommandIDs.cancelJob,
      label: job =>
        job.cancel_requested ? trans.__('Cancelling…') : trans.__('Cancel'),
      rank: 40,
      kind: 'danger',
      isVisible: job => !isTerminal(job.status) && model.capabilities.cancel,
      isEnabled: job => !job.cancel_requested
    })
  );
  actions.add(
    model.addAction({
      id: 'delete',
      command: CommandIDs.deleteJob,
      label: trans.__('Delete'),
      rank: 60,
      kind: 'danger',
      isVisible: job => isTerminal(job.status)
    })
  );
  return actions;
}
