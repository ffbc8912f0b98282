/**
 * The job plugins: the jobs model (`IJobsModel`), the Jobs section of the
 * DataOps sidebar with the per-job commands and finish notifications, and
 * "Run as job…" (file browser menu, notebook toolbar, command palette).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  Notification,
  showDialog,
  ToolbarButton
} from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import {
  INotebookModel,
  INotebookTracker,
  NotebookPanel
} from '@jupyterlab/notebook';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { createRefreshButton } from '../collection';
import { DataOpsClient, errorText } from '../api';
import { dataOpsIcon } from '../icons';
import { ScheduleCommandIDs } from '../schedules/commands';
import { formatInZone } from '../schedules/cron';
import { IDataOpsSidebar, IJobsModel, ISchedulesModel } from '../tokens';
import { JobsClient } from './client';
import { formatDuration, jobDuration, stripAnsi } from './format';
import { addJobActions } from './actions';
import { JobsModel } from './model';
import { openRunDialog, RunDialogResult } from './runDialog';
import { CommandIDs } from './commands';
import { JobsSection } from './section';
import { Schedule } from '../schedules/types';
import { ISandboxesModel } from '../sandboxes/tokens';
import { isTerminal, Job } from './types';
import { createHtmlWidget, createLogsWidget } from './viewers';

/** The id of the Jobs section in the DataOps sidebar. */
export const JOBS_SECTION_ID = 'jobs';

/** Show an error's message and hint in a notification (every DataOps plugin's). */
export function reportError(title: string, reason: unknown): void {
  const { message, hint } = errorText(reason);
  Notification.error(
    hint ? `${title}: ${message} ${hint}` : `${title}: ${message}`,
    { autoClose: 10000 }
  );
}

/** A full job: the model's, else the server's. */
async function findJob(model: IJobsModel, id: string): Promise<Job | null> {
  return model.getJob(id) ?? (await model.fetchJob(id));
}

/**
 * The jobs model, fed by the server's event bus.
 */
export const jobsModelPlugin: JupyterFrontEndPlugin<IJobsModel> = {
  id: 'jupyter-dataops:jobs',
  description: 'Provides the DataOps jobs model, kept live from server events.',
  autoStart: true,
  provides: IJobsModel,
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null
  ): IJobsModel => {
    const api = new DataOpsClient({
      serverSettings: app.serviceManager.serverSettings,
      translator: translator ?? undefined
    });
    const model = new JobsModel({ client: new JobsClient(api) });
    app.serviceManager.events.stream.connect((_, event) =>
      model.handleEvent(event)
    );
    void model.loadInfo();
    return model;
  }
};

/**
 * The Jobs section of the DataOps sidebar, the per-job commands and the
 * finish notifications.
 */
export const jobsSectionPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-dataops:jobs-section',
  description:
    'Adds the Jobs section to the DataOps sidebar, with job actions.',
  autoStart: true,
  requires: [IJobsModel, IDataOpsSidebar, ITranslator],
  optional: [ICommandPalette, ISchedulesModel, ISandboxesModel],
  activate: (
    app: JupyterFrontEnd,
    model: IJobsModel,
    sidebar: IDataOpsSidebar,
    translator: ITranslator,
    palette: ICommandPalette | null,
    schedules: ISchedulesModel | null,
    sandboxes: ISandboxesModel | null
  ): void => {
    const trans = translator.load('jupyter-dataops');
    const { commands, shell } = app;

    const section = new JobsSection({ model, commands, trans, sandboxes });
    sidebar.addSection({
      id: JOBS_SECTION_ID,
      title: trans.__('Jobs'),
      caption: trans.__('Notebooks run as jobs'),
      rank: 100,
      content: section,
      toolbar: [
        {
          name: 'refresh',
          widget: createRefreshButton(
            model.collection,
            trans.__('Refresh the job list')
          )
        }
      ]
    });

    commands.addCommand(CommandIDs.openPanel, {
      label: trans.__('Open the DataOps Jobs Panel'),
      caption: trans.__('Show the DataOps sidebar with the job list'),
      icon: args => (args.isPalette ? undefined : dataOpsIcon),
      execute: async args => {
        sidebar.showSection(JOBS_SECTION_ID);
        if (typeof args.select === 'string') {
          const id = args.select;
          if (!model.getSummary(id)) {
            await model.fetchJob(id).catch(() => null);
          }
          section.reveal(id);
        }
      }
    });

    commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh the DataOps Job List'),
      execute: () => model.refresh()
    });

    commands.addCommand(CommandIDs.openOutput, {
      label: trans.__('Open the Executed Notebook'),
      execute: async args => {
        let job: Job | null;
        try {
          job = await findJob(model, String(args.id));
        } catch (reason) {
          reportError(trans.__('Could not open the output'), reason);
          return;
        }
        if (!job?.output_path) {
          Notification.warning(
            trans.__('This job has no executed notebook yet.'),
            { autoClose: 5000 }
          );
          return;
        }
        return commands.execute('docmanager:open', { path: job.output_path });
      }
    });

    const views = new Map<string, MainAreaWidget>();
    const showView = (key: string, create: () => MainAreaWidget): void => {
      let widget = views.get(key);
      if (!widget || widget.isDisposed) {
        widget = create();
        views.set(key, widget);
        widget.disposed.connect(() => views.delete(key));
        shell.add(widget, 'main');
      }
      shell.activateById(widget.id);
    };

    commands.addCommand(CommandIDs.viewHtml, {
      label: trans.__('View the Executed Notebook as HTML'),
      execute: async args => {
        try {
          const job = await findJob(model, String(args.id));
          if (job) {
            showView(`html:${job.id}`, () =>
              createHtmlWidget({ model, job, trans })
            );
          }
        } catch (reason) {
          reportError(trans.__('Could not show the HTML'), reason);
        }
      }
    });

    commands.addCommand(CommandIDs.viewLogs, {
      label: trans.__('View the Job Logs'),
      execute: async args => {
        try {
          const job = await findJob(model, String(args.id));
          if (job) {
            showView(`logs:${job.id}`, () =>
              createLogsWidget({ model, job, trans })
            );
          }
        } catch (reason) {
          reportError(trans.__('Could not show the logs'), reason);
        }
      }
    });

    commands.addCommand(CommandIDs.cancelJob, {
      label: trans.__('Cancel the Job'),
      isEnabled: () => model.capabilities.cancel,
      execute: async args => {
        try {
          await model.cancelJob(String(args.id));
        } catch (reason) {
          reportError(trans.__('Could not cancel the job'), reason);
        }
      }
    });

    commands.addCommand(CommandIDs.deleteJob, {
      label: trans.__('Delete the Job'),
      execute: async args => {
        const id = String(args.id);
        const name = model.getSummary(id)?.name ?? id;
        const result = await showDialog({
          title: trans.__('Delete job?'),
          body: trans.__(
            'Delete the job “%1” and its files? This cannot be undone.',
            name
          ),
          buttons: [
            Dialog.cancelButton({ label: trans.__('Cancel') }),
            Dialog.warnButton({ label: trans.__('Delete') })
          ]
        });
        if (!result.button.accept) {
          return;
        }
        try {
          await model.deleteJob(id);
          if (section.selected === id) {
            section.select(null);
          }
        } catch (reason) {
          reportError(trans.__('Could not delete the job'), reason);
        }
      }
    });

    if (palette) {
      const category = trans.__('DataOps');
      palette.addItem({ command: CommandIDs.openPanel, category });
      palette.addItem({ command: CommandIDs.refresh, category });
    }

    // The buttons of each job's detail; other plugins add theirs the same way.
    addJobActions(model, trans);

    model.jobFinished.connect((_, job) => notifyFinished(job));

    /** Tell the user that a job they saw queued or running ended. */
    function notifyFinished(job: Job): void {
      if (schedules && job.schedule_id && job.status === 'failed') {
        // The schedules plugin announces failed scheduled runs, once each.
        return;
      }
      const showDetails = {
        label: trans.__('Show'),
        callback: () =>
          void commands.execute(CommandIDs.openPanel, { select: job.id })
      };
      const duration = jobDuration(job, Date.now() / 1000);
      // A toast for the user's own jobs; jobs submitted elsewhere (CLI, API,
      // other tabs) only land in the notification list, so a batch of them
      // does not bury the screen.
      const own = model.isSubmittedHere(job.id);
      const toast = (ms: number) => (own ? ms : 0);
      switch (job.status) {
        case 'completed':
          Notification.success(
            duration !== null
              ? trans.__(
                  'Job “%1” completed in %2.',
                  job.name,
                  formatDuration(duration, trans)
                )
              : trans.__('Job “%1” completed.', job.name),
            {
              autoClose: toast(8000),
              actions: job.output_path
                ? [
                    {
                      label: trans.__('Open output'),
                      callback: () =>
                        void commands.execute(CommandIDs.openOutput, {
                          id: job.id
                        })
                    },
                    showDetails
                  ]
                : [showDetails]
            }
          );
          break;
        case 'failed': {
          const reason = job.error
            ? `${job.error.ename}: ${stripAnsi(job.error.evalue)}`
            : trans.__('no error reported');
          Notification.error(
            job.error?.cell_index !== null &&
              job.error?.cell_index !== undefined
              ? trans.__(
                  'Job “%1” failed in cell %2: %3',
                  job.name,
                  job.error.cell_index,
                  reason
                )
              : trans.__('Job “%1” failed: %2', job.name, reason),
            { autoClose: toast(15000), actions: [showDetails] }
          );
          break;
        }
        case 'cancelled':
          Notification.info(trans.__('Job “%1” was cancelled.', job.name), {
            autoClose: toast(5000),
            actions: [showDetails]
          });
          break;
        default:
          break;
      }
    }
  }
};

/**
 * "Run as job…": the command, its file browser menu entry, its notebook
 * toolbar button, and re-runs.
 */
export const runPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-dataops:run',
  description: 'Adds "Run as job..." to notebooks and re-runs to jobs.',
  autoStart: true,
  requires: [IJobsModel, ITranslator],
  optional: [
    IDefaultFileBrowser,
    INotebookTracker,
    ICommandPalette,
    ISchedulesModel,
    ISandboxesModel
  ],
  activate: (
    app: JupyterFrontEnd,
    model: IJobsModel,
    translator: ITranslator,
    browser: IDefaultFileBrowser | null,
    notebooks: INotebookTracker | null,
    palette: ICommandPalette | null,
    schedules: ISchedulesModel | null,
    sandboxes: ISandboxesModel | null
  ): void => {
    const trans = translator.load('jupyter-dataops');
    const { commands } = app;
    const kernelspecs = app.serviceManager.kernelspecs;

    const selectedNotebook = () => selectedNotebookPath(browser);
    const currentNotebook = () => currentNotebookPath(notebooks);

    const announce = (result: RunDialogResult) => {
      if (result.kind === 'schedule') {
        announceSchedule(commands, trans, result.schedule);
        return;
      }
      const job = result.job;
      Notification.info(trans.__('Job “%1” queued.', job.name), {
        autoClose: 4000
      });
      // Its warnings show in its detail, opened next.
      void commands.execute(CommandIDs.openPanel, { select: job.id });
    };

    commands.addCommand(CommandIDs.runJob, {
      label: args =>
        args.isPalette
          ? trans.__('Run the Current Notebook as a Job…')
          : trans.__('Run as job…'),
      caption: trans.__(
        'Run this notebook as a job with parameters, and watch it in the DataOps sidebar'
      ),
      icon: args => (args.isPalette ? undefined : dataOpsIcon),
      isEnabled: args =>
        typeof args.path === 'string' ||
        (args.origin === 'file-browser'
          ? selectedNotebook() !== null
          : !!notebooks?.currentWidget || selectedNotebook() !== null),
      execute: async args => {
        let path: string | null = null;
        try {
          if (typeof args.path === 'string') {
            path = args.path;
          } else if (args.origin === 'file-browser') {
            path = selectedNotebook();
          } else {
            path = (await currentNotebook()) ?? selectedNotebook();
          }
        } catch (reason) {
          reportError(trans.__('Could not save the notebook'), reason);
          return;
        }
        if (!path) {
          Notification.warning(trans.__('Open or select a notebook to run.'), {
            autoClose: 5000
          });
          return;
        }
        const result = await openRunDialog({
          model,
          kernelspecs,
          path,
          schedules,
          sandboxes: sandboxes?.client ?? null,
          trans
        });
        if (result) {
          announce(result);
        }
      }
    });

    commands.addCommand(CommandIDs.rerunJob, {
      label: trans.__('Re-run the Job…'),
      execute: async args => {
        let original: Job | null;
        try {
          // The full job, fresh: its parameters prefill the dialog.
          original = await model.fetchJob(String(args.id));
        } catch (reason) {
          reportError(trans.__('Could not re-run the job'), reason);
          return;
        }
        if (!original) {
          return;
        }
        const result = await openRunDialog({
          model,
          kernelspecs,
          path: original.notebook_path,
          rerunOf: original,
          initial: {
            parameters: original.parameters,
            kernelName: original.kernel_name
          },
          trans
        });
        if (result) {
          announce(result);
        }
      }
    });

    model.addAction({
      id: 'rerun',
      command: CommandIDs.rerunJob,
      label: trans.__('Re-run…'),
      caption: trans.__(
        'Run this notebook again, with the same or other values'
      ),
      rank: 50,
      isVisible: job => isTerminal(job.status)
    });

    app.contextMenu.addItem({
      command: CommandIDs.runJob,
      args: { origin: 'file-browser' },
      selector: '.jp-DirListing-item[data-file-type="notebook"]',
      rank: 3
    });

    if (palette) {
      palette.addItem({
        command: CommandIDs.runJob,
        category: trans.__('DataOps'),
        args: { isPalette: true }
      });
    }

    app.docRegistry.addWidgetExtension(
      'Notebook',
      new RunButtonExtension(commands, trans)
    );
  }
};

/** The notebook selected in the file browser, if any. */
export function selectedNotebookPath(
  browser: IDefaultFileBrowser | null
): string | null {
  if (!browser) {
    return null;
  }
  for (const item of browser.selectedItems()) {
    if (item.type === 'notebook') {
      return item.path;
    }
  }
  return null;
}

/**
 * The open notebook's path, saving it first so the job (or schedule) runs
 * what the user sees.
 */
export async function currentNotebookPath(
  notebooks: INotebookTracker | null
): Promise<string | null> {
  const current = notebooks?.currentWidget;
  if (!current) {
    return null;
  }
  const context = current.context;
  if (context.model.dirty && !context.model.readOnly) {
    await context.save();
  }
  return context.localPath ?? context.path;
}

/** Say that a schedule was created, and open it in the Schedules section. */
export function announceSchedule(
  commands: JupyterFrontEnd['commands'],
  trans: TranslationBundle,
  schedule: Schedule
): void {
  Notification.success(
    schedule.next_run_at !== null
      ? trans.__(
          'Schedule “%1” created: %2. Next run: %3.',
          schedule.name,
          schedule.description,
          formatInZone(schedule.next_run_at, schedule.timezone, {
            zoneName: true
          })
        )
      : trans.__(
          'Schedule “%1” created: %2.',
          schedule.name,
          schedule.description
        ),
    { autoClose: 6000 }
  );
  if (commands.hasCommand(ScheduleCommandIDs.open)) {
    void commands.execute(ScheduleCommandIDs.open, { select: schedule.id });
  }
}

/**
 * Save a notebook with unsaved changes before acting on it from its toolbar
 * (what runs or is recorded is what the user sees); whether it may go on.
 */
export async function saveFirst(
  panel: NotebookPanel,
  trans: TranslationBundle
): Promise<boolean> {
  const context = panel.context;
  try {
    if (context.model.dirty && !context.model.readOnly) {
      await context.save();
    }
  } catch (reason) {
    reportError(trans.__('Could not save the notebook'), reason);
    return false;
  }
  return true;
}

/** Adds a "Run as job" button to each notebook's toolbar. */
class RunButtonExtension implements DocumentRegistry.IWidgetExtension<
  NotebookPanel,
  INotebookModel
> {
  constructor(
    private _commands: JupyterFrontEnd['commands'],
    private _trans: TranslationBundle
  ) {}

  createNew(panel: NotebookPanel): IDisposable {
    const button = new ToolbarButton({
      className: 'jp-DataOps-runButton',
      icon: dataOpsIcon,
      label: this._trans.__('Run as job'),
      tooltip: this._trans.__(
        'Run this notebook as a job with parameters (DataOps)'
      ),
      onClick: async () => {
        const context = panel.context;
        if (!(await saveFirst(panel, this._trans))) {
          return;
        }
        void this._commands.execute(CommandIDs.runJob, {
          path: context.localPath ?? context.path,
          name: PathExt.basename(context.path)
        });
      }
    });
    panel.toolbar.insertItem(10, 'dataops-run-job', button);
    return new DisposableDelegate(() => button.dispose());
  }
}
