/**
 * The schedule dialogs: edit (the run dialog in schedule mode, prefilled,
 * sending only what changed), run now (the schedule's parameters, changes
 * sent as overrides) and delete (keeping or deleting its runs).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { KernelSpec } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import { IJobsClient } from '../jobs/client';
import {
  IRunExecutorSource,
  IRunTargetSource,
  showRunFormDialog
} from '../jobs/runDialog';
import { Job } from '../jobs/types';
import { ISchedulesModel } from '../tokens';
import { scheduleUpdate } from './definition';
import { Schedule } from './types';

interface IDialogOptions {
  model: ISchedulesModel;
  /** Reads the notebook's parameters for the form. */
  jobsClient: Pick<IJobsClient, 'getNotebookParameters'>;
  kernelspecs: KernelSpec.IManager;
  /** Offers "Run in" a sandbox in an edit when given. */
  sandboxes?: IRunTargetSource | null;
  /** Offers "Run on" in an edit when two or more (the server's executors). */
  executors?: IRunExecutorSource | null;
  schedule: Schedule;
  trans: TranslationBundle;
}

/** What an edit did: the new version, or nothing to change. */
export type EditResult =
  | { changed: true; schedule: Schedule }
  | { changed: false; schedule: Schedule };

/**
 * Edit a schedule: the dialog prefilled from it; only the fields the user
 * changed are sent, as a new version. Null if the user cancelled.
 */
export function openEditDialog(
  options: IDialogOptions
): Promise<EditResult | null> {
  const { model, schedule, trans } = options;
  return showRunFormDialog<EditResult>({
    form: {
      client: options.jobsClient,
      kernelspecs: options.kernelspecs,
      sandboxes: options.sandboxes ?? null,
      executors: options.executors ?? null,
      path: schedule.notebook_path,
      rerunOf: null,
      trans,
      scheduling: {
        preview: (cron, zone) => model.preview(cron, zone),
        edit: schedule
      }
    },
    initial: {
      mode: 'schedule',
      parameters: schedule.parameters,
      kernelName: schedule.kernel_name,
      options: {
        name: schedule.name,
        timeout:
          schedule.timeout_seconds !== null
            ? String(schedule.timeout_seconds)
            : '',
        retries:
          schedule.max_retries !== null ? String(schedule.max_retries) : ''
      }
    },
    title: trans.__('Edit “%1”', schedule.name),
    accept: trans.__('Save'),
    submit: async request => {
      if (!request.schedule) {
        throw new Error(trans.__('The schedule fields are missing.'));
      }
      const update = scheduleUpdate(schedule, {
        fields: request.schedule,
        parameters: request.parameters,
        kernelName: request.kernelName,
        kernelChanged: request.kernelChanged,
        target: request.target,
        job: request.options,
        executor: request.executor
      });
      if (Object.keys(update).length === 0) {
        return { changed: false, schedule };
      }
      return {
        changed: true,
        schedule: await model.updateSchedule(schedule.id, update)
      };
    }
  });
}

/**
 * Run a schedule's notebook now: its parameters prefilled; the ones the user
 * changes are sent as overrides. Null if the user cancelled.
 */
export function openRunNowDialog(options: IDialogOptions): Promise<Job | null> {
  const { model, schedule, trans } = options;
  return showRunFormDialog<Job>({
    form: {
      client: options.jobsClient,
      kernelspecs: options.kernelspecs,
      path: schedule.notebook_path,
      rerunOf: null,
      trans,
      scheduling: {
        preview: (cron, zone) => model.preview(cron, zone),
        runNowOf: schedule
      }
    },
    initial: {
      parameters: schedule.parameters,
      kernelName: schedule.kernel_name
    },
    title: trans.__('Run “%1” now', schedule.name),
    accept: trans.__('Run now'),
    submit: request =>
      model.runNow(schedule.id, {
        parameters:
          Object.keys(request.changes).length > 0 ? request.changes : null
      })
  });
}

/**
 * Ask before deleting a schedule, offering to delete its finished runs too.
 * Null if the user cancelled, else whether to delete the runs.
 */
export async function confirmDelete(
  schedule: Pick<Schedule, 'name'>,
  trans: TranslationBundle
): Promise<{ deleteRuns: boolean } | null> {
  const result = await showDialog({
    title: trans.__('Delete schedule?'),
    body: trans.__(
      'Delete the schedule “%1”? It stops firing, and its versions and due times go. Its runs stay in the Jobs section unless you tick the box. This cannot be undone.',
      schedule.name
    ),
    checkbox: {
      label: trans.__('Also delete its finished runs'),
      caption: trans.__(
        'Delete the jobs it ran (their outputs and logs too); running ones are cancelled'
      ),
      checked: false,
      className: 'jp-DataOps-deleteRuns'
    },
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: trans.__('Delete') })
    ]
  });
  if (!result.button.accept) {
    return null;
  }
  return { deleteRuns: result.isChecked === true };
}
