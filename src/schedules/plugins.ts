/**
 * The schedule plugins: the schedules model (`ISchedulesModel`) with the
 * notifications of failed scheduled runs, and the Schedules section of the
 * DataOps sidebar with the schedule commands and "Schedule…" (file browser
 * menu, command palette).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { createRefreshButton } from '../collection';
import { DataOpsClient } from '../api';
import { CommandIDs } from '../jobs/commands';
import { formatDuration, stripAnsi } from '../jobs/format';
import {
  announceSchedule,
  currentNotebookPath,
  JOBS_SECTION_ID,
  reportError,
  selectedNotebookPath
} from '../jobs/plugins';
import { openRunDialog, serverExecutors } from '../jobs/runDialog';
import { Job } from '../jobs/types';
import { ISandboxesModel } from '../sandboxes/tokens';
import { IDataOpsSidebar, IJobsModel, ISchedulesModel } from '../tokens';
import { SchedulesClient } from './client';
import { ScheduleCommandIDs } from './commands';
import { confirmDelete, openEditDialog, openRunNowDialog } from './dialogs';
import { scheduleIcon } from './icons';
import { SchedulesModel } from './model';
import { ScheduledRunNotifier } from './notify';
import { SchedulesSection } from './section';
import { Schedule } from './types';

/** The id of the Schedules section in the DataOps sidebar. */
export const SCHEDULES_SECTION_ID = 'schedules';

/**
 * The schedules model, fed by the server's event bus, and the notification
 * of each failed scheduled run.
 */
export const schedulesModelPlugin: JupyterFrontEndPlugin<ISchedulesModel> = {
  id: 'jupyter-dataops:schedules',
  description:
    'Provides the DataOps schedules model, kept live from server events, and notifies failed scheduled runs.',
  autoStart: true,
  provides: ISchedulesModel,
  requires: [IJobsModel],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    jobs: IJobsModel,
    translator: ITranslator | null
  ): ISchedulesModel => {
    const trans = (translator ?? nullTranslator).load('jupyter-dataops');
    const api = new DataOpsClient({
      serverSettings: app.serviceManager.serverSettings,
      translator: translator ?? undefined
    });
    const model = new SchedulesModel({ client: new SchedulesClient(api) });
    const { commands } = app;

    const notifier = new ScheduledRunNotifier({
      fetchJob: id => jobs.fetchJob(id),
      notify: job => notifyFailure(job),
      fetchSchedule: async id =>
        model.getSchedule(id) ?? (await model.fetchSchedule(id)),
      notifySuccess: (job, schedule) => notifySuccess(job, schedule),
      // Completed jobs are looked up only while there are schedules.
      watching: () => !model.collection.ready || model.collection.total > 0
    });
    app.serviceManager.events.stream.connect((_, event) => {
      model.handleEvent(event);
      notifier.handleEvent(event);
    });

    /** "Scheduled run of X failed", with actions to open the run and the schedule. */
    function notifyFailure(job: Job): void {
      const scheduleId = job.schedule_id!;
      const name = model.getSummary(scheduleId)?.name ?? job.name;
      const reason = job.error
        ? `${job.error.ename}: ${stripAnsi(job.error.evalue)}`
        : trans.__('no error reported');
      Notification.error(
        trans.__('Scheduled run of “%1” failed: %2', name, reason),
        { autoClose: 15000, actions: runActions(job) }
      );
    }

    /** "Scheduled run of X completed", when its schedule asks for successes. */
    function notifySuccess(job: Job, schedule: Schedule): void {
      const took =
        job.started_at !== null && job.finished_at !== null
          ? ` (${formatDuration(job.finished_at - job.started_at, trans)})`
          : '';
      Notification.success(
        trans.__('Scheduled run of “%1” completed%2.', schedule.name, took),
        { autoClose: 8000, actions: runActions(job) }
      );
    }

    /** Show the run, show its schedule. */
    function runActions(job: Job): Notification.IAction[] {
      const scheduleId = job.schedule_id!;
      const actions: Notification.IAction[] = [];
      if (commands.hasCommand(CommandIDs.openPanel)) {
        actions.push({
          label: trans.__('Show run'),
          callback: () =>
            void commands.execute(CommandIDs.openPanel, { select: job.id })
        });
      }
      if (commands.hasCommand(ScheduleCommandIDs.open)) {
        actions.push({
          label: trans.__('Show schedule'),
          callback: () =>
            void commands.execute(ScheduleCommandIDs.open, {
              select: scheduleId
            })
        });
      }
      return actions;
    }
    return model;
  }
};

/**
 * The Schedules section of the DataOps sidebar, the schedule commands, and
 * "Schedule…" for notebooks.
 */
export const schedulesSectionPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-dataops:schedules-section',
  description:
    'Adds the Schedules section to the DataOps sidebar, with schedule actions and "Schedule…" for notebooks.',
  autoStart: true,
  requires: [ISchedulesModel, IJobsModel, IDataOpsSidebar, ITranslator],
  optional: [
    ICommandPalette,
    IDefaultFileBrowser,
    INotebookTracker,
    ISandboxesModel
  ],
  activate: (
    app: JupyterFrontEnd,
    model: ISchedulesModel,
    jobs: IJobsModel,
    sidebar: IDataOpsSidebar,
    translator: ITranslator,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null,
    notebooks: INotebookTracker | null,
    sandboxes: ISandboxesModel | null
  ): void => {
    const trans = translator.load('jupyter-dataops');
    const { commands } = app;
    const kernelspecs = app.serviceManager.kernelspecs;

    const section = new SchedulesSection({ model, commands, trans });
    // Where "Run in" finds the sandboxes and profiles, if sandboxes are here.
    const targets = sandboxes?.client ?? null;
    sidebar.addSection({
      id: SCHEDULES_SECTION_ID,
      title: trans.__('Schedules'),
      caption: trans.__('Notebooks that run on a schedule'),
      rank: 200,
      icon: scheduleIcon,
      content: section,
      toolbar: [
        {
          name: 'refresh',
          widget: createRefreshButton(
            model.collection,
            trans.__('Refresh the schedule list')
          )
        }
      ]
    });
    model.scheduleRemoved.connect((_, id) => {
      if (section.selected === id) {
        section.select(null);
      }
    });

    /** The full schedule, fresh; null (and a message) if it is gone. */
    const load = async (id: string): Promise<Schedule | null> => {
      try {
        const schedule = await model.fetchSchedule(id);
        if (!schedule) {
          Notification.warning(trans.__('This schedule no longer exists.'), {
            autoClose: 5000
          });
        }
        return schedule;
      } catch (reason) {
        reportError(trans.__('Could not load the schedule'), reason);
        return null;
      }
    };
    const nameOf = (id: string) => model.getSummary(id)?.name ?? id;

    commands.addCommand(ScheduleCommandIDs.open, {
      label: trans.__('Open the DataOps Schedules Panel'),
      caption: trans.__('Show the DataOps sidebar with the schedule list'),
      execute: async args => {
        sidebar.showSection(SCHEDULES_SECTION_ID);
        if (typeof args.select === 'string') {
          const id = args.select;
          if (!model.getSummary(id)) {
            await model.fetchSchedule(id).catch(() => null);
          }
          section.reveal(id);
        }
      }
    });

    commands.addCommand(ScheduleCommandIDs.refresh, {
      label: trans.__('Refresh the DataOps Schedule List'),
      execute: () => model.refresh()
    });

    commands.addCommand(ScheduleCommandIDs.scheduleNotebook, {
      label: args =>
        args.isPalette
          ? trans.__('Schedule the Current Notebook…')
          : trans.__('Schedule…'),
      caption: trans.__(
        'Run this notebook on a schedule (cron), with parameters, and follow it in the DataOps sidebar'
      ),
      icon: args => (args.isPalette ? undefined : scheduleIcon),
      isEnabled: args =>
        typeof args.path === 'string' ||
        (args.origin === 'file-browser'
          ? selectedNotebookPath(browser) !== null
          : !!notebooks?.currentWidget ||
            selectedNotebookPath(browser) !== null),
      execute: async args => {
        let path: string | null = null;
        try {
          if (typeof args.path === 'string') {
            path = args.path;
          } else if (args.origin === 'file-browser') {
            path = selectedNotebookPath(browser);
          } else {
            path =
              (await currentNotebookPath(notebooks)) ??
              selectedNotebookPath(browser);
          }
        } catch (reason) {
          reportError(trans.__('Could not save the notebook'), reason);
          return;
        }
        if (!path) {
          Notification.warning(
            trans.__('Open or select a notebook to schedule.'),
            { autoClose: 5000 }
          );
          return;
        }
        const result = await openRunDialog({
          model: jobs,
          kernelspecs,
          path,
          schedules: model,
          sandboxes: targets,
          initial: { mode: 'schedule' },
          trans
        });
        if (result?.kind === 'schedule') {
          announceSchedule(commands, trans, result.schedule);
        } else if (result?.kind === 'job') {
          Notification.info(trans.__('Job “%1” queued.', result.job.name), {
            autoClose: 4000
          });
          void commands.execute(CommandIDs.openPanel, {
            select: result.job.id
          });
        }
      }
    });

    commands.addCommand(ScheduleCommandIDs.runNow, {
      label: trans.__('Run the Schedule Now…'),
      execute: async args => {
        const schedule = await load(String(args.id));
        if (!schedule) {
          return;
        }
        const job = await openRunNowDialog({
          model,
          jobsClient: jobs.client,
          kernelspecs,
          schedule,
          trans
        });
        if (job) {
          Notification.info(trans.__('Run of “%1” queued.', schedule.name), {
            autoClose: 4000,
            actions: [
              {
                label: trans.__('Show'),
                callback: () =>
                  void commands.execute(CommandIDs.openPanel, {
                    select: job.id
                  })
              }
            ]
          });
        }
      }
    });

    commands.addCommand(ScheduleCommandIDs.pause, {
      label: trans.__('Pause the Schedule'),
      execute: async args => {
        try {
          await model.pauseSchedule(String(args.id));
        } catch (reason) {
          reportError(trans.__('Could not pause the schedule'), reason);
        }
      }
    });

    commands.addCommand(ScheduleCommandIDs.resume, {
      label: trans.__('Resume the Schedule'),
      execute: async args => {
        try {
          await model.resumeSchedule(String(args.id));
        } catch (reason) {
          reportError(trans.__('Could not resume the schedule'), reason);
        }
      }
    });

    commands.addCommand(ScheduleCommandIDs.edit, {
      label: trans.__('Edit the Schedule…'),
      execute: async args => {
        const schedule = await load(String(args.id));
        if (!schedule) {
          return;
        }
        const result = await openEditDialog({
          model,
          jobsClient: jobs.client,
          kernelspecs,
          sandboxes: targets,
          executors: serverExecutors(jobs),
          schedule,
          trans
        });
        if (result && result.changed) {
          Notification.success(
            trans.__(
              'Schedule “%1” saved as version %2.',
              result.schedule.name,
              result.schedule.version
            ),
            { autoClose: 4000 }
          );
        } else if (result) {
          Notification.info(trans.__('Nothing changed.'), { autoClose: 3000 });
        }
      }
    });

    commands.addCommand(ScheduleCommandIDs.remove, {
      label: trans.__('Delete the Schedule…'),
      execute: async args => {
        const id = String(args.id);
        const answer = await confirmDelete({ name: nameOf(id) }, trans);
        if (!answer) {
          return;
        }
        try {
          await model.deleteSchedule(id, answer.deleteRuns);
          if (section.selected === id) {
            section.select(null);
          }
          if (answer.deleteRuns) {
            void jobs.refresh();
          }
        } catch (reason) {
          reportError(trans.__('Could not delete the schedule'), reason);
        }
      }
    });

    commands.addCommand(ScheduleCommandIDs.showRuns, {
      label: trans.__('Show the Schedule’s Runs in the Job List'),
      execute: args => {
        jobs.collection.setQuery({
          schedule_id: String(args.id),
          status: [],
          notebook: null
        });
        sidebar.showSection(JOBS_SECTION_ID);
      }
    });

    app.contextMenu.addItem({
      command: ScheduleCommandIDs.scheduleNotebook,
      args: { origin: 'file-browser' },
      selector: '.jp-DirListing-item[data-file-type="notebook"]',
      rank: 4
    });

    if (palette) {
      const category = trans.__('DataOps');
      palette.addItem({
        command: ScheduleCommandIDs.scheduleNotebook,
        category,
        args: { isPalette: true }
      });
      palette.addItem({ command: ScheduleCommandIDs.open, category });
      palette.addItem({ command: ScheduleCommandIDs.refresh, category });
    }
  }
};
