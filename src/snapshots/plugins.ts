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
import { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { DataOpsClient, errorText } from '../api';
import { createRefreshButton } from '../collection';
import { IDataOpsSidebar, ISnapshotsModel } from '../tokens';
import { SnapshotsClient } from './client';
import { SnapshotCommandIDs } from './commands';
import { SnapshotDiffWidget } from './diff';
import { confirmRestore, openTakeDialog } from './dialogs';
import { dataSizeText, shortId } from './format';
import { snapshotIcon, takeSnapshotIcon } from './icons';
import { SnapshotsModel } from './model';
import { createTakeButton, SnapshotsSection } from './section';
import { SnapshotSummary } from './types';

/** The id of the Snapshots section in the DataOps sidebar. */
export const SNAPSHOTS_SECTION_ID = 'snapshots';

/** Show an error's message and hint in a notification. */
function reportError(title: string, reason: unknown): void {
  const { message, hint } = errorText(reason);
  Notification.error(
    hint ? `${title}: ${message} ${hint}` : `${title}: ${message}`,
    { autoClose: 10000 }
  );
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
  optional: [ICommandPalette, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    model: ISnapshotsModel,
    sidebar: IDataOpsSidebar,
    translator: ITranslator,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyter-dataops');
    const { commands, shell } = app;

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
        let latest: SnapshotSummary | null = null;
        if (workspace.latest_id) {
          latest =
            model.getSummary(workspace.latest_id) ??
            (await model.fetchSnapshot(workspace.latest_id).catch(() => null));
        }
        const request = await openTakeDialog({
          workspace,
          latest,
          initial: {
            message: typeof args.message === 'string' ? args.message : ''
          },
          trans
        });
        if (!request) {
          return;
        }
        // Where its progress shows.
        sidebar.showSection(SNAPSHOTS_SECTION_ID);
        try {
          const snapshot = await model.takeSnapshot(request);
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
        // The snapshot records what the user sees.
        const context = panel.context;
        try {
          if (context.model.dirty && !context.model.readOnly) {
            await context.save();
          }
        } catch (reason) {
          reportError(this._trans.__('Could not save the notebook'), reason);
          return;
        }
        void this._commands.execute(SnapshotCommandIDs.take);
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
