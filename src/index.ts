/**
 * The jupyter-dataops JupyterLab extension: run notebooks as parameterized
 * jobs and watch them from a sidebar.
 *
 * One plugin provides the job model (`IDataOpsModel`); the sidebar and the
 * run dialog plugins register their commands and views around it.
 */
import {
  ILayoutRestorer,
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

import { DataOpsClient, IJob, isTerminal, JOB_EVENT_SCHEMA_ID } from './api';
import { formatDuration, jobDuration, stripAnsi } from './format';
import { dataOpsIcon } from './icons';
import { errorText } from './labels';
import { DataOpsModel } from './model';
import { CommandIDs, JobsPanel } from './panel';
import { openRunDialog } from './runDialog';
import { IDataOpsModel } from './tokens';
import { createHtmlWidget, createLogsWidget } from './viewers';

export * from './api';
export * from './tokens';
export { DataOpsModel } from './model';
export { CommandIDs } from './panel';

const PLUGIN_PREFIX = 'jupyter-dataops';

/** Show an error's message and hint in a notification. */
function reportError(
  trans: TranslationBundle,
  title: string,
  reason: unknown
): void {
  const { message, hint } = errorText(reason);
  Notification.error(
    hint ? `${title}: ${message} ${hint}` : `${title}: ${message}`,
    { autoClose: 10000 }
  );
}

/** Find a job by id: from the model's memory, else from the server. */
async function findJob(model: IDataOpsModel, id: string): Promise<IJob | null> {
  return model.getJob(id) ?? (await model.refreshJob(id));
}

/**
 * The job model, fed by the server's event bus.
 */
const modelPlugin: JupyterFrontEndPlugin<IDataOpsModel> = {
  id: `${PLUGIN_PREFIX}:model`,
  description: 'Provides the DataOps job model, kept live from server events.',
  autoStart: true,
  provides: IDataOpsModel,
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null
  ): IDataOpsModel => {
    const client = new DataOpsClient({
      serverSettings: app.serviceManager.serverSettings,
      translator: translator ?? undefined
    });
    const model = new DataOpsModel({ client });
    app.serviceManager.events.stream.connect((_, event) => {
      if (event.schema_id === JOB_EVENT_SCHEMA_ID) {
        model.handleEvent(event);
      }
    });
    return model;
  }
};

/**
 * The DataOps sidebar, the per-job commands and the finish notifications.
 */
const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:panel`,
  description: 'Adds the DataOps sidebar listing jobs, with their actions.',
  autoStart: true,
  requires: [IDataOpsModel, ITranslator],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    model: IDataOpsModel,
    translator: ITranslator,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    const trans = translator.load('jupyter-dataops');
    const { commands, shell } = app;

    const panel = new JobsPanel({ model, commands, trans });
    panel.id = 'jp-DataOps-sidebar';
    panel.title.icon = dataOpsIcon;
    panel.title.caption = trans.__('DataOps');
    panel.title.label = '';
    shell.add(panel, 'left', { rank: 700 });
    restorer?.add(panel, 'jupyter-dataops-sidebar');

    const category = trans.__('DataOps');

    commands.addCommand(CommandIDs.openPanel, {
      label: trans.__('Open the DataOps Jobs Panel'),
      caption: trans.__('Show the DataOps sidebar with the job list'),
      icon: args => (args.isPalette ? undefined : dataOpsIcon),
      execute: args => {
        shell.activateById(panel.id);
        if (typeof args.select === 'string') {
          // Show the job even if the current filters or page would hide it.
          const job = model.getJob(args.select);
          const { status, notebook, offset } = model.query;
          if (
            job &&
            !model.jobs.some(item => item.id === job.id) &&
            ((status.length > 0 && !status.includes(job.status)) ||
              (notebook !== '' && !job.notebook_path.includes(notebook)) ||
              offset > 0)
          ) {
            model.setQuery({ status: [], notebook: '', offset: 0 });
          }
          panel.select(args.select);
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
        const job = await findJob(model, String(args.id));
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
    const showView = (
      key: string,
      create: () => MainAreaWidget
    ): MainAreaWidget => {
      let widget = views.get(key);
      if (!widget || widget.isDisposed) {
        widget = create();
        views.set(key, widget);
        widget.disposed.connect(() => views.delete(key));
        shell.add(widget, 'main');
      }
      shell.activateById(widget.id);
      return widget;
    };

    commands.addCommand(CommandIDs.viewHtml, {
      label: trans.__('View the Executed Notebook as HTML'),
      execute: async args => {
        try {
          const job = await findJob(model, String(args.id));
          if (!job) {
            return;
          }
          showView(`html:${job.id}`, () =>
            createHtmlWidget({ model, job, trans })
          );
        } catch (reason) {
          reportError(trans, trans.__('Could not show the HTML'), reason);
        }
      }
    });

    commands.addCommand(CommandIDs.viewLogs, {
      label: trans.__('View the Job Logs'),
      execute: async args => {
        try {
          const job = await findJob(model, String(args.id));
          if (!job) {
            return;
          }
          showView(`logs:${job.id}`, () =>
            createLogsWidget({ model, job, trans })
          );
        } catch (reason) {
          reportError(trans, trans.__('Could not show the logs'), reason);
        }
      }
    });

    commands.addCommand(CommandIDs.cancelJob, {
      label: trans.__('Cancel the Job'),
      execute: async args => {
        try {
          await model.cancelJob(String(args.id));
        } catch (reason) {
          reportError(trans, trans.__('Could not cancel the job'), reason);
        }
      }
    });

    commands.addCommand(CommandIDs.deleteJob, {
      label: trans.__('Delete the Job'),
      execute: async args => {
        const id = String(args.id);
        const job = model.getJob(id);
        const result = await showDialog({
          title: trans.__('Delete job?'),
          body: trans.__(
            'Delete the job “%1” from the job list? This cannot be undone.',
            job?.name ?? id
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
          if (panel.selected === id) {
            panel.select(null);
          }
        } catch (reason) {
          reportError(trans, trans.__('Could not delete the job'), reason);
        }
      }
    });

    if (palette) {
      palette.addItem({ command: CommandIDs.openPanel, category });
      palette.addItem({ command: CommandIDs.refresh, category });
    }

    // The buttons of each job's detail; other plugins add theirs the same way.
    model.addJobAction({
      id: 'open-output',
      command: CommandIDs.openOutput,
      label: trans.__('Open output'),
      caption: job =>
        job.output_path ??
        trans.__('The executed notebook is written when the job runs.'),
      rank: 10,
      kind: 'primary',
      isEnabled: job => !!job.output_path
    });
    model.addJobAction({
      id: 'view-html',
      command: CommandIDs.viewHtml,
      label: trans.__('View HTML'),
      caption: trans.__('The executed notebook as HTML'),
      rank: 20,
      isEnabled: job => !!job.output_path || !!job.html_path
    });
    model.addJobAction({
      id: 'view-logs',
      command: CommandIDs.viewLogs,
      label: trans.__('Logs'),
      caption: trans.__('What the job printed and logged'),
      rank: 30
    });
    model.addJobAction({
      id: 'cancel',
      command: CommandIDs.cancelJob,
      label: job =>
        job.cancel_requested ? trans.__('Cancelling…') : trans.__('Cancel'),
      rank: 40,
      kind: 'danger',
      isVisible: job => !isTerminal(job.status),
      isEnabled: job => !job.cancel_requested
    });
    model.addJobAction({
      id: 'delete',
      command: CommandIDs.deleteJob,
      label: trans.__('Delete'),
      rank: 60,
      kind: 'danger',
      isVisible: job => isTerminal(job.status)
    });

    // Tell the user when a job they saw queued or running ends.
    model.jobFinished.connect((_, job) => {
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
    });
  }
};

/**
 * "Run as job...": the command, its file browser menu entry, its notebook
 * toolbar button, and re-runs.
 */
const runPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:run`,
  description: 'Adds "Run as job..." to notebooks and re-runs to jobs.',
  autoStart: true,
  requires: [IDataOpsModel, ITranslator],
  optional: [IDefaultFileBrowser, INotebookTracker, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    model: IDataOpsModel,
    translator: ITranslator,
    browser: IDefaultFileBrowser | null,
    notebooks: INotebookTracker | null,
    palette: ICommandPalette | null
  ): void => {
    const trans = translator.load('jupyter-dataops');
    const { commands } = app;
    const kernelspecs = app.serviceManager.kernelspecs;

    /** The notebook selected in the file browser, if any. */
    const selectedNotebook = (): string | null => {
      if (!browser) {
        return null;
      }
      for (const item of browser.selectedItems()) {
        if (item.type === 'notebook') {
          return item.path;
        }
      }
      return null;
    };

    /** The open notebook's path, saving it first so the job runs what the user sees. */
    const currentNotebook = async (): Promise<string | null> => {
      const current = notebooks?.currentWidget;
      if (!current) {
        return null;
      }
      const context = current.context;
      if (context.model.dirty && !context.model.readOnly) {
        await context.save();
      }
      return context.localPath ?? context.path;
    };

    const announce = (job: IJob) => {
      Notification.info(trans.__('Job “%1” queued.', job.name), {
        autoClose: 4000
      });
      if (job.warnings.length > 0) {
        Notification.warning(job.warnings.join(' '), { autoClose: 10000 });
      }
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
          reportError(trans, trans.__('Could not save the notebook'), reason);
          return;
        }
        if (!path) {
          Notification.warning(trans.__('Open or select a notebook to run.'), {
            autoClose: 5000
          });
          return;
        }
        const job = await openRunDialog({ model, kernelspecs, path, trans });
        if (job) {
          announce(job);
        }
      }
    });

    commands.addCommand(CommandIDs.rerunJob, {
      label: trans.__('Re-run the Job…'),
      execute: async args => {
        let original: IJob | null;
        try {
          original = await findJob(model, String(args.id));
        } catch (reason) {
          reportError(trans, trans.__('Could not re-run the job'), reason);
          return;
        }
        if (!original) {
          return;
        }
        const job = await openRunDialog({
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
        if (job) {
          announce(job);
        }
      }
    });

    model.addJobAction({
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
        try {
          if (context.model.dirty && !context.model.readOnly) {
            await context.save();
          }
        } catch (reason) {
          reportError(
            this._trans,
            this._trans.__('Could not save the notebook'),
            reason
          );
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

export default [modelPlugin, panelPlugin, runPlugin];
