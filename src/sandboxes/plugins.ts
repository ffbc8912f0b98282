/**
 * The sandbox plugins: the sandboxes model (`ISandboxesModel`), fed by the
 * server's event bus; and the Sandboxes section of the DataOps sidebar with
 * the sandbox commands ("Start" in the section heading and the palette,
 * stop, open a notebook in one), the kernel picker kept in step, and
 * warnings when a sandbox will stop soon or failed.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { DataOpsClient } from '../api';
import { createRefreshButton } from '../collection';
import { reportError } from '../jobs/plugins';
import { IDataOpsSidebar } from '../tokens';
import { SandboxesClient } from './client';
import { SandboxCommandIDs } from './commands';
import { openStartDialog } from './dialog';
import { sandboxIcon } from './icons';
import { SandboxesModel } from './model';
import { followSandboxes } from './notify';
import { createStartButton, SandboxesSection } from './section';
import { ISandboxesModel } from './tokens';
import { Sandbox } from './types';

/** The id of the Sandboxes section in the DataOps sidebar. */
export const SANDBOXES_SECTION_ID = 'sandboxes';

/**
 * The sandboxes model, fed by the server's event bus.
 */
export const sandboxesModelPlugin: JupyterFrontEndPlugin<ISandboxesModel> = {
  id: 'jupyter-dataops:sandboxes',
  description:
    'Provides the DataOps sandboxes model, kept live from server events.',
  autoStart: true,
  provides: ISandboxesModel,
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null
  ): ISandboxesModel => {
    const api = new DataOpsClient({
      serverSettings: app.serviceManager.serverSettings,
      translator: translator ?? undefined
    });
    const model = new SandboxesModel({ client: new SandboxesClient(api) });
    app.serviceManager.events.stream.connect((_, event) =>
      model.handleEvent(event)
    );
    return model;
  }
};

/**
 * The Sandboxes section of the DataOps sidebar, the sandbox commands, the
 * kernel picker kept in step with ready and ended sandboxes, and warnings.
 */
export const sandboxesSectionPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-dataops:sandboxes-section',
  description:
    'Adds the Sandboxes section to the DataOps sidebar: start a sandbox from a profile, follow its provisioning, open a notebook in it, stop it.',
  autoStart: true,
  requires: [ISandboxesModel, IDataOpsSidebar, ITranslator],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    model: ISandboxesModel,
    sidebar: IDataOpsSidebar,
    translator: ITranslator,
    palette: ICommandPalette | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyter-dataops');
    const { commands } = app;

    const section = new SandboxesSection({ model, commands, trans });
    sidebar.addSection({
      id: SANDBOXES_SECTION_ID,
      title: trans.__('Sandboxes'),
      caption: trans.__(
        'Kernels with CPUs, memory and GPUs of their own, started from profiles'
      ),
      rank: 500,
      icon: sandboxIcon,
      content: section,
      // Collapsed at first, so the sections above keep their room; "Start"
      // and the palette's command expand it.
      expanded: false,
      toolbar: [
        { name: 'start', widget: createStartButton({ commands, trans }) },
        {
          name: 'refresh',
          widget: createRefreshButton(
            model.collection,
            trans.__('Refresh the sandboxes')
          )
        }
      ]
    });
    followSandboxes({
      model,
      commands,
      trans,
      kernelspecs: app.serviceManager.kernelspecs ?? null
    });

    /** A sandbox: known, else fetched; null (and a message) if gone. */
    const load = async (id: string): Promise<Sandbox | null> => {
      const known = model.getSandbox(id);
      if (known) {
        return known;
      }
      try {
        const sandbox = await model.fetchSandbox(id);
        if (!sandbox) {
          Notification.warning(trans.__('Sandbox %1 no longer exists.', id), {
            autoClose: 5000
          });
        }
        return sandbox;
      } catch (reason) {
        reportError(trans.__('Could not load sandbox %1', id), reason);
        return null;
      }
    };

    const idOf = (args: { [key: string]: unknown }) =>
      typeof args.id === 'string' ? args.id : '';

    commands.addCommand(SandboxCommandIDs.open, {
      label: trans.__('Open the DataOps Sandboxes Panel'),
      caption: trans.__('Show the DataOps sidebar with the sandboxes'),
      execute: async args => {
        sidebar.showSection(SANDBOXES_SECTION_ID);
        if (typeof args.select === 'string' && args.select) {
          const sandbox = await load(args.select);
          if (sandbox) {
            section.select(sandbox.id);
          }
        }
      }
    });

    commands.addCommand(SandboxCommandIDs.refresh, {
      label: trans.__('Refresh the DataOps Sandboxes'),
      execute: () => model.refresh()
    });

    commands.addCommand(SandboxCommandIDs.start, {
      label: args =>
        args.isPalette ? trans.__('Start a Sandbox…') : trans.__('Start…'),
      caption: trans.__(
        'Start a sandbox from a profile: CPUs, memory and GPUs of its own, with a kernel in the kernel picker'
      ),
      execute: async () => {
        sidebar.showSection(SANDBOXES_SECTION_ID);
        const started = await openStartDialog({
          title: trans.__('Start a sandbox'),
          trans,
          loadProfiles: () => model.fetchProfiles(),
          start: request => model.startSandbox(request)
        });
        if (started) {
          sidebar.showSection(SANDBOXES_SECTION_ID);
        }
        return started;
      }
    });

    commands.addCommand(SandboxCommandIDs.stop, {
      label: trans.__('Stop the Sandbox'),
      execute: async args => {
        const id = idOf(args);
        if (!id) {
          return false;
        }
        try {
          await model.stopSandbox(id);
          return true;
        } catch (reason) {
          reportError(trans.__('Could not stop sandbox %1', id), reason);
          return false;
        }
      }
    });

    commands.addCommand(SandboxCommandIDs.openNotebook, {
      label: trans.__('Open a Notebook in the Sandbox'),
      caption: trans.__(
        'Create an untitled notebook running the sandbox’s kernel'
      ),
      execute: async args => {
        const sandbox = await load(idOf(args));
        if (!sandbox) {
          return;
        }
        if (sandbox.status !== 'ready' || !sandbox.kernel_name) {
          Notification.warning(
            trans.__(
              'Sandbox %1 is not ready: its kernel can be used once it is.',
              sandbox.display_name || sandbox.id
            ),
            { autoClose: 6000 }
          );
          return;
        }
        const kernelName = sandbox.kernel_name;
        try {
          // The kernel picker (and a new notebook) know the spec only once
          // the specs were asked for after it was written.
          const specs = app.serviceManager.kernelspecs;
          if (specs && !specs.specs?.kernelspecs[kernelName]) {
            await specs.refreshSpecs();
          }
          return await commands.execute('notebook:create-new', { kernelName });
        } catch (reason) {
          reportError(
            trans.__(
              'Could not open a notebook in sandbox %1',
              sandbox.display_name || sandbox.id
            ),
            reason
          );
        }
      }
    });

    if (palette) {
      const category = trans.__('DataOps');
      palette.addItem({
        command: SandboxCommandIDs.start,
        category,
        args: { isPalette: true }
      });
      palette.addItem({ command: SandboxCommandIDs.open, category });
      palette.addItem({ command: SandboxCommandIDs.refresh, category });
    }
  }
};
