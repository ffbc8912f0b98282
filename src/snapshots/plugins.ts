/**
 * The snapshot plugins: the snapshots model (`ISnapshotsModel`), fed by the
 * server's event bus and by the files the user saves; and the Snapshots
 * section of the DataOps sidebar with the snapshot commands ("Take
 * snapshot" in the section heading, the command palette and each notebook's
 * toolbar; restore, push, compare).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  Notification,
  ToolbarButton
} from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import {
  INotebookModel,
  INotebookTracker,
  NotebookPanel
} from '@jupyterlab/notebook';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { DataOpsClient } from '../api';
import { createRefreshButton } from '../collection';
import { reportError, saveFirst } from '../jobs/plugins';
import { IDataOpsSidebar, ISnapshotsModel } from '../tokens';
import { SnapshotsClient } from './client';
import { SnapshotCommandIDs } from './commands';
import { SnapshotDiffWidget } from './diff';
import { confirmRestore, openTakeDialog, showKernelReport } from './dialogs';
import { dataSizeText, shortId } from './format';
import { snapshotIcon, takeSnapshotIcon } from './icons';
import {
  CurrentNotebookKernel,
  executeInKernel,
  INotebookKernel,
  isPythonKernel,
  KernelCodeError,
  loadCode,
  loadReport,
  parseSnapshotOutput,
  takeCode
} from './kernel';
import { SnapshotsModel } from './model';
import { createTakeButton, SnapshotsSection } from './section';
import { Snapshot, SnapshotCreate, SnapshotSummary } from './types';

/** The id of the Snapshots section in the DataOps sidebar. */
export const SNAPSHOTS_SECTION_ID = 'snapshots';

/** The longest notification message JupyterLab shows whole. */
const NOTIFICATION_LENGTH = 140;

/**
 * Show what a kernel answered: the first line in a notification, all of it
 * behind "Details" when there is more.
 */
function notifyKernel(
  kind: 'success' | 'error',
  title: string,
  lines: ReadonlyArray<string>,
  trans: TranslationBundle
): void {
  const whole = lines.join(' ');
  const short = whole.length <= NOTIFICATION_LENGTH;
  const message = short ? whole : (lines[0] ?? '');
  const actions =
    lines.length > 1 || !short
      ? [
          {
            label: trans.__('Details'),
            callback: () =>
              void showKernelReport(title, lines.join('\n'), trans)
          }
        ]
      : [];
  Notification[kind](message, { autoClose: 10000, actions });
}

/** Show why code in a kernel (or anything else) failed. */
function reportKernelError(
  title: string,
  reason: unknown,
  trans: TranslationBundle
): void {
  if (reason instanceof KernelCodeError) {
    const lines = reason.userMessage.split('\n').filter(line => line.trim());
    notifyKernel(
      'error',
      title,
      [`${title}: ${lines[0] ?? reason.ename}`, ...lines.slice(1)],
      trans
    );
  } else {
    reportError(title, reason);
  }
}

/** Take a snapshot in a kernel, with its variables: the magic prints it as JSON. */
async function takeInKernel(
  kernel: INotebookKernel,
  request: SnapshotCreate
): Promise<Snapshot> {
  const output = await executeInKernel(
    kernel.kernel,
    takeCode(request, kernel.kernel.name)
  );
  return parseSnapshotOutput(output.stdout);
}

/**
 * The snapshots model, fed by the server's event bus; files saved in
 * JupyterLab may change the project, so its state is asked for again.
 */
export const snapshotsModelPlugin: JupyterFrontEndPlugin<ISnapshotsModel> = {
  id: 'jupyter-dataops:snapshots',
  description:
    'Provides the DataOps snapshots model, kept live from server events and saved files.',
  autoStart: true,
  provides: ISnapshotsModel,
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null
  ): ISnapshotsModel => {
    const api = new DataOpsClient({
      serverSettings: app.serviceManager.serverSettings,
      translator: translator ?? undefined
    });
    const model = new SnapshotsModel({ client: new SnapshotsClient(api) });
    app.serviceManager.events.stream.connect((_, event) =>
      model.handleEvent(event)
    );
    app.serviceManager.contents.fileChanged.connect(() =>
      model.workspaceMayHaveChanged()
    );
    return model;
  }
};

/**
 * The Snapshots section of the DataOps sidebar, the snapshot commands, and
 * "Take snapshot" in the command palette and the notebook toolbar.
 */
export const snapshotsSectionPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-dataops:snapshots-section',
  description:
    'Adds the Snapshots section to the DataOps sidebar, with "Take snapshot", restore, push and compare.',
  autoStart: true,
  requires: [ISnapshotsModel, IDataOpsSidebar, ITranslator],
  optional: [ICommandPalette, IDefaultFileBrowser, INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    model: ISnapshotsModel,
    sidebar: IDataOpsSidebar,
    translator: ITranslator,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null,
    notebooks: INotebookTracker | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyter-dataops');
    const { commands, shell } = app;
    // The kernel that saves or loads variables: the current notebook's.
    const kernels = notebooks ? new CurrentNotebookKernel(notebooks) : null;

    const section = new SnapshotsSection({ model, commands, trans });
    const refresh = createRefreshButton(
      model.collection,
      trans.__('Refresh the snapshot list and the project’s state')
    );
    // The project's state is asked for again with the list.
    refresh.node.addEventListener('click', () =>
      model.workspaceMayHaveChanged()
    );
    sidebar.addSection({
      id: SNAPSHOTS_SECTION_ID,
      title: trans.__('Snapshots'),
      caption: trans.__(
        'Versions of the project: code, data and environment, to compare and restore'
      ),
      rank: 300,
      icon: snapshotIcon,
      content: section,
      toolbar: [
        {
          name: 'take',
          widget: createTakeButton({ model, commands, trans })
        },
        { name: 'refresh', widget: refresh }
      ]
    });

    /** A snapshot's summary: known, else fetched; null (and a message) if gone. */
    const load = async (id: string): Promise<SnapshotSummary | null> => {
      const known = model.getSummary(id);
      if (known) {
        return known;
      }
      try {
        const snapshot = await model.fetchSnapshot(id);
        if (!snapshot) {
          Notification.warning(trans.__('This snapshot no longer exists.'), {
            autoClose: 5000
          });
        }
        return snapshot;
      } catch (reason) {
        reportError(trans.__('Could not load the snapshot'), reason);
        return null;
      }
    };

    const show = (id: string) =>
      void commands.execute(SnapshotCommandIDs.open, { select: id });

    commands.addCommand(SnapshotCommandIDs.open, {
      label: trans.__('Open the DataOps Snapshots Panel'),
      caption: trans.__('Show the DataOps sidebar with the snapshot list'),
      execute: async args => {
        sidebar.showSection(SNAPSHOTS_SECTION_ID);
        if (typeof args.select === 'string') {
          const id = args.select;
          if (!model.getSummary(id)) {
            await model.fetchSnapshot(id).catch(() => null);
          }
          section.reveal(id);
        }
      }
    });

    commands.addCommand(SnapshotCommandIDs.openSnapshot, {
      label: trans.__('Show the Snapshot'),
      caption: trans.__('Open this snapshot in the Snapshots section'),
      execute: async args => {
        const id = typeof args.id === 'string' ? args.id : '';
        if (!id) {
          return;
        }
        sidebar.showSection(SNAPSHOTS_SECTION_ID);
        const snapshot = await load(id);
        if (snapshot) {
          section.reveal(snapshot.id);
        }
      }
    });

    commands.addCommand(SnapshotCommandIDs.refresh, {
      label: trans.__('Refresh the DataOps Snapshot List'),
      execute: () => model.refresh()
    });

    commands.addCommand(SnapshotCommandIDs.take, {
      label: args =>
        args.isPalette ? trans.__('Take Snapshot…') : trans.__('Take snapshot'),
      caption: trans.__(
        'Record the project: code and notebooks with git, data with DVC, the kernel’s packages'
      ),
      icon: args => (args.isPalette ? undefined : takeSnapshotIcon),
      isEnabled: () => !model.operations.some(item => item.kind === 'take'),
      execute: async args => {
        let workspace;
        try {
          // Whether the project is set up decides what the dialog asks.
          workspace = await model.fetchWorkspace();
        } catch (reason) {
          reportError(trans.__('Could not read the project’s state'), reason);
          return;
        }
        // The snapshot the project is now exactly: a new one records the same.
        const matchingId =
          workspace.matches_id ??
          (workspace.changed === false ? workspace.latest_id : null);
        let matching: SnapshotSummary | null = null;
        if (matchingId) {
          matching =
            model.getSummary(matchingId) ??
            (await model.fetchSnapshot(matchingId).catch(() => null));
        }
        // The current notebook's kernel can save its variables, if it runs Python.
        const target = kernels?.current ?? null;
        const python = target ? await isPythonKernel(target.kernel) : false;
        const choice = await openTakeDialog({
          workspace,
          matching,
          kernelNotebook: python && target ? target.name : null,
          initial: {
            message: typeof args.message === 'string' ? args.message : ''
          },
          trans
        });
        if (!choice) {
          return;
        }
        // Where its progress shows.
        sidebar.showSection(SNAPSHOTS_SECTION_ID);
        if (choice.variables && target) {
          try {
            const snapshot = await model.takeSnapshot(choice.request, request =>
              takeInKernel(target, request)
            );
            section.reveal(snapshot.id);
            const saved = snapshot.variables?.saved.length ?? 0;
            Notification.success(
              trans._n(
                'Snapshot %2 taken (%3), with %1 variable of %4’s kernel.',
                'Snapshot %2 taken (%3), with %1 variables of %4’s kernel.',
                saved,
                shortId(snapshot.id),
                dataSizeText(snapshot, trans),
                target.name
              ),
              { autoClose: 5000 }
            );
          } catch (reason) {
            reportKernelError(
              trans.__('Could not take the snapshot'),
              reason,
              trans
            );
          }
          return;
        }
        try {
          const snapshot = await model.takeSnapshot(choice.request);
          Notification.success(
            trans.__(
              'Snapshot %1 taken (%2).',
              shortId(snapshot.id),
              dataSizeText(snapshot, trans)
            ),
            {
              autoClose: 5000,
              actions: [
                { label: trans.__('Show'), callback: () => show(snapshot.id) }
              ]
            }
          );
        } catch (reason) {
          reportError(trans.__('Could not take the snapshot'), reason);
        }
      }
    });

    /** Snapshots whose variables are being loaded. */
    const loading = new Set<string>();
    commands.addCommand(SnapshotCommandIDs.loadVariables, {
      label: args => {
        const target = kernels?.current;
        if (loading.has(String(args.id))) {
          return trans.__('Loading…');
        }
        return target
          ? trans.__('Load into %1’s kernel', target.name)
          : trans.__('Load into a notebook’s kernel');
      },
      caption: () => {
        const target = kernels?.current;
        return target
          ? trans.__(
              'Load the saved variables into the running kernel of %1, replacing variables of the same names',
              target.path
            )
          : trans.__(
              'Open a notebook with a running Python kernel to load them into'
            );
      },
      isEnabled: args => !!kernels?.current && !loading.has(String(args.id)),
      execute: async args => {
        const id = String(args.id);
        const names = Array.isArray(args.names)
          ? args.names.filter(
              (name): name is string => typeof name === 'string'
            )
          : [];
        const target = kernels?.current;
        if (!target || loading.has(id)) {
          return;
        }
        const title = trans.__('Could not load the variables');
        if (!(await isPythonKernel(target.kernel))) {
          Notification.error(
            trans.__(
              '%1: the kernel of %2 does not run Python.',
              title,
              target.name
            ),
            { autoClose: 10000 }
          );
          return;
        }
        loading.add(id);
        commands.notifyCommandChanged(SnapshotCommandIDs.loadVariables);
        try {
          const output = await executeInKernel(
            target.kernel,
            loadCode(id, names)
          );
          const report = loadReport(output.stdout, id, shortId(id));
          notifyKernel(
            'success',
            trans.__('Variables of snapshot %1', shortId(id)),
            [
              report.summary ||
                trans.__('Loaded the variables of %1.', shortId(id)),
              ...report.details
            ],
            trans
          );
        } catch (reason) {
          reportKernelError(title, reason, trans);
        } finally {
          loading.delete(id);
          commands.notifyCommandChanged(SnapshotCommandIDs.loadVariables);
        }
      }
    });
    kernels?.changed.connect(() =>
      commands.notifyCommandChanged(SnapshotCommandIDs.loadVariables)
    );

    commands.addCommand(SnapshotCommandIDs.restore, {
      label: trans.__('Restore the Snapshot…'),
      execute: async args => {
        const snapshot = await load(String(args.id));
        if (!snapshot) {
          return;
        }
        const given = Array.isArray(args.paths)
          ? args.paths.filter(
              (path): path is string => typeof path === 'string'
            )
          : [];
        const answer = await confirmRestore(snapshot, trans, given);
        if (!answer) {
          return;
        }
        try {
          const result = await model.restoreSnapshot(snapshot.id, {
            paths: answer.paths
          });
          const changed = result.files.length + result.data.length;
          const safety = result.safety_snapshot_id;
          Notification.success(
            safety
              ? trans.__(
                  'Restored %1; safety snapshot %2. %3',
                  shortId(result.snapshot_id),
                  shortId(safety),
                  trans._n('%1 path changed.', '%1 paths changed.', changed)
                )
              : trans.__(
                  'Restored %1. %2',
                  shortId(result.snapshot_id),
                  trans._n('%1 path changed.', '%1 paths changed.', changed)
                ),
            {
              autoClose: 8000,
              actions: safety
                ? [
                    {
                      label: trans.__('Show safety snapshot'),
                      callback: () => show(safety)
                    }
                  ]
                : []
            }
          );
          void browser?.model.refresh().catch(() => undefined);
        } catch (reason) {
          reportError(trans.__('Could not restore the snapshot'), reason);
        }
      }
    });

    commands.addCommand(SnapshotCommandIDs.push, {
      label: trans.__('Push the Snapshot’s Data Now'),
      execute: async args => {
        const id = String(args.id);
        try {
          const snapshot = await model.pushSnapshot(id);
          if (snapshot.push_status === 'pushed') {
            Notification.success(
              trans.__('The data of %1 is on the remote.', shortId(id)),
              { autoClose: 4000 }
            );
          } else {
            Notification.warning(
              trans.__(
                'Pushing the data of %1 failed: %2',
                shortId(id),
                snapshot.push_error ?? trans.__('no reason given')
              ),
              { autoClose: 10000 }
            );
          }
        } catch (reason) {
          reportError(trans.__('Could not push the snapshot’s data'), reason);
        }
      }
    });

    const diffs = new Map<string, MainAreaWidget<SnapshotDiffWidget>>();
    commands.addCommand(SnapshotCommandIDs.compare, {
      label: trans.__('Compare Snapshots'),
      caption: trans.__('What changed from one snapshot to another'),
      execute: args => {
        const a = String(args.a);
        const b = String(args.b);
        const key = `${a}..${b}`;
        let widget = diffs.get(key);
        if (!widget || widget.isDisposed) {
          const content = new SnapshotDiffWidget({ model, a, b, trans });
          widget = new MainAreaWidget({ content });
          // Nothing to put in it.
          widget.toolbar.hide();
          widget.id = content.id;
          widget.title.label = content.title.label;
          widget.title.caption = content.title.caption;
          widget.title.icon = snapshotIcon;
          widget.title.closable = true;
          diffs.set(key, widget);
          widget.disposed.connect(() => diffs.delete(key));
          shell.add(widget, 'main');
        }
        shell.activateById(widget.id);
      }
    });

    if (palette) {
      const category = trans.__('DataOps');
      palette.addItem({
        command: SnapshotCommandIDs.take,
        category,
        args: { isPalette: true }
      });
      palette.addItem({ command: SnapshotCommandIDs.open, category });
      palette.addItem({ command: SnapshotCommandIDs.refresh, category });
    }

    app.docRegistry.addWidgetExtension(
      'Notebook',
      new SnapshotButtonExtension(commands, trans)
    );
  }
};

/** Adds "Take snapshot" to each notebook's toolbar (after "Run as job"). */
class SnapshotButtonExtension implements DocumentRegistry.IWidgetExtension<
  NotebookPanel,
  INotebookModel
> {
  constructor(
    private _commands: JupyterFrontEnd['commands'],
    private _trans: TranslationBundle
  ) {}

  createNew(panel: NotebookPanel): IDisposable {
    const button = new ToolbarButton({
      className: 'jp-DataOps-snapshotButton',
      icon: takeSnapshotIcon,
      label: this._trans.__('Snapshot'),
      tooltip: this._trans.__(
        'Take a snapshot of the project: code, data and packages (DataOps)'
      ),
      onClick: async () => {
        if (await saveFirst(panel, this._trans)) {
          void this._commands.execute(SnapshotCommandIDs.take);
        }
      }
    });
    // Beside "Run as job", once the toolbar's own items (from the settings)
    // are in: they are inserted by position, so an early item moves.
    const name = 'dataops-take-snapshot';
    void panel.revealed.then(() => {
      if (
        !button.isDisposed &&
        !panel.isDisposed &&
        !panel.toolbar.insertAfter('dataops-run-job', name, button)
      ) {
        panel.toolbar.insertItem(10, name, button);
      }
    });
    return new DisposableDelegate(() => button.dispose());
  }
}
