/**
 * The endpoint plugins: the endpoints model (`IEndpointsModel`), fed by the
 * server's event bus; and the Endpoints section of the DataOps sidebar with
 * the endpoint commands, drift warnings, and "Publish model" (the section
 * heading, the command palette, each code cell's toolbar and context menu).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { DataOpsApiError, DataOpsClient } from '../api';
import { createRefreshButton } from '../collection';
import { reportError } from '../jobs/plugins';
import { currentNotebookKernel, isPythonKernel } from '../snapshots/kernel';
import { IDataOpsSidebar, IEndpointsModel } from '../tokens';
import { EndpointsClient } from './client';
import { EndpointCommandIDs } from './commands';
import {
  confirmDeleteEndpoint,
  notServedText,
  openPublishDialog
} from './dialogs';
import { formatSeconds } from './format';
import { endpointIcon, publishModelIcon } from './icons';
import {
  kernelErrorText,
  loadCandidates,
  PublishError,
  publishInKernel
} from './kernel';
import { EndpointsModel } from './model';
import { notifyDriftCrossings } from './notify';
import { createPublishButton, EndpointsSection } from './section';
import { PublishSteps } from './steps';
import { Endpoint } from './types';

/** The id of the Endpoints section in the DataOps sidebar. */
export const ENDPOINTS_SECTION_ID = 'endpoints';

/**
 * The endpoints model, fed by the server's event bus.
 */
export const endpointsModelPlugin: JupyterFrontEndPlugin<IEndpointsModel> = {
  id: 'jupyter-dataops:endpoints',
  description:
    'Provides the DataOps endpoints model, kept live from server events.',
  autoStart: true,
  provides: IEndpointsModel,
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null
  ): IEndpointsModel => {
    const api = new DataOpsClient({
      serverSettings: app.serviceManager.serverSettings,
      translator: translator ?? undefined
    });
    const model = new EndpointsModel({ client: new EndpointsClient(api) });
    app.serviceManager.events.stream.connect((_, event) =>
      model.handleEvent(event)
    );
    return model;
  }
};

/**
 * The Endpoints section of the DataOps sidebar, the endpoint commands, drift
 * warnings, and "Publish model" in the palette, the cell toolbar (through
 * this plugin's settings schema, `jupyter.lab.toolbars.Cell`) and the cell
 * context menu.
 */
export const endpointsSectionPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-dataops:endpoints-section',
  description:
    'Adds the Endpoints section to the DataOps sidebar, with "Publish model" in the cell toolbar, promote, traffic split and drift warnings.',
  autoStart: true,
  requires: [IEndpointsModel, IDataOpsSidebar, ITranslator],
  optional: [ICommandPalette, INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    model: IEndpointsModel,
    sidebar: IDataOpsSidebar,
    translator: ITranslator,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyter-dataops');
    const { commands } = app;

    const section = new EndpointsSection({ model, commands, trans });
    sidebar.addSection({
      id: ENDPOINTS_SECTION_ID,
      title: trans.__('Endpoints'),
      caption: trans.__(
        'Models served on a URL: traffic, latency, drift, versions and canaries'
      ),
      rank: 400,
      icon: endpointIcon,
      content: section,
      // Collapsed at first, so the sections above keep their room; publishing,
      // "Show" and the palette's command expand it.
      expanded: false,
      toolbar: [
        { name: 'publish', widget: createPublishButton({ commands, trans }) },
        {
          name: 'refresh',
          widget: createRefreshButton(
            model.collection,
            trans.__('Refresh the endpoints')
          )
        }
      ]
    });
    notifyDriftCrossings(model, commands, trans);

    const show = (name: string) =>
      void commands.execute(EndpointCommandIDs.open, { select: name });

    /** An endpoint: known, else fetched; null (and a message) if gone. */
    const load = async (name: string): Promise<Endpoint | null> => {
      const known = model.getEndpoint(name);
      if (known) {
        return known;
      }
      try {
        const endpoint = await model.fetchEndpoint(name);
        if (!endpoint) {
          Notification.warning(
            trans.__('Endpoint %1 no longer exists.', name),
            { autoClose: 5000 }
          );
        }
        return endpoint;
      } catch (reason) {
        reportError(trans.__('Could not load endpoint %1', name), reason);
        return null;
      }
    };

    const nameOf = (args: { [key: string]: unknown }) =>
      typeof args.name === 'string' ? args.name : '';

    commands.addCommand(EndpointCommandIDs.open, {
      label: trans.__('Open the DataOps Endpoints Panel'),
      caption: trans.__('Show the DataOps sidebar with the endpoint catalogue'),
      execute: async args => {
        sidebar.showSection(ENDPOINTS_SECTION_ID);
        if (typeof args.select === 'string' && args.select) {
          const endpoint = await load(args.select);
          if (endpoint) {
            section.select(endpoint.name);
          }
        }
      }
    });

    commands.addCommand(EndpointCommandIDs.openEndpoint, {
      label: trans.__('Show the Endpoint'),
      caption: trans.__('Open this endpoint in the Endpoints section'),
      execute: args =>
        commands.execute(EndpointCommandIDs.open, { select: nameOf(args) })
    });

    commands.addCommand(EndpointCommandIDs.refresh, {
      label: trans.__('Refresh the DataOps Endpoints'),
      execute: () => model.refresh()
    });

    /**
     * A command that changes an endpoint, telling why it could not; it
     * resolves true once done.
     */
    const change = (
      id: string,
      label: string,
      failure: (name: string) => string,
      act: (name: string, args: { [key: string]: unknown }) => Promise<unknown>,
      success?: (name: string, args: { [key: string]: unknown }) => string
    ) =>
      commands.addCommand(id, {
        label,
        execute: async args => {
          const name = nameOf(args);
          if (!name) {
            return false;
          }
          try {
            await act(name, args);
            if (success) {
              Notification.success(success(name, args), { autoClose: 4000 });
            }
            return true;
          } catch (reason) {
            reportError(failure(name), reason);
            return false;
          }
        }
      });

    change(
      EndpointCommandIDs.start,
      trans.__('Start the Endpoint'),
      name => trans.__('Could not start endpoint %1', name),
      name => model.startEndpoint(name)
    );
    change(
      EndpointCommandIDs.stop,
      trans.__('Stop the Endpoint'),
      name => trans.__('Could not stop endpoint %1', name),
      name => model.stopEndpoint(name)
    );
    change(
      EndpointCommandIDs.restart,
      trans.__('Restart the Endpoint'),
      name => trans.__('Could not restart endpoint %1', name),
      name => model.restartEndpoint(name)
    );
    change(
      EndpointCommandIDs.rollback,
      trans.__('Roll the Endpoint Back'),
      name => trans.__('Could not roll endpoint %1 back', name),
      name => model.rollbackEndpoint(name),
      name =>
        trans.__(
          'Endpoint %1 serves v%2 again.',
          name,
          model.getEndpoint(name)?.version ?? '?'
        )
    );
    change(
      EndpointCommandIDs.promote,
      trans.__('Promote a Version of the Endpoint'),
      name => trans.__('Could not promote on endpoint %1', name),
      (name, args) =>
        model.promoteEndpoint(
          name,
          typeof args.version === 'number' ? args.version : null
        ),
      name =>
        trans.__(
          'Endpoint %1 serves v%2 to all requests.',
          name,
          model.getEndpoint(name)?.version ?? '?'
        )
    );
    change(
      EndpointCommandIDs.traffic,
      trans.__('Split the Endpoint’s Traffic'),
      name => trans.__('Could not split the traffic of endpoint %1', name),
      (name, args) =>
        model.splitTraffic(name, {
          canary_version:
            typeof args.canary_version === 'number'
              ? args.canary_version
              : null,
          percent: typeof args.percent === 'number' ? args.percent : 0
        }),
      (name, args) =>
        typeof args.percent === 'number' && args.percent > 0
          ? trans.__(
              'Endpoint %1 sends %2 % of requests to v%3.',
              name,
              args.percent,
              String(args.canary_version)
            )
          : trans.__('Endpoint %1 sends every request to one version.', name)
    );

    commands.addCommand(EndpointCommandIDs.remove, {
      label: trans.__('Delete the Endpoint…'),
      execute: async args => {
        const endpoint = await load(nameOf(args));
        if (!endpoint || !(await confirmDeleteEndpoint(endpoint, trans))) {
          return false;
        }
        try {
          await model.deleteEndpoint(endpoint.name);
          if (section.selected === endpoint.name) {
            section.select(null);
          }
          return true;
        } catch (reason) {
          reportError(
            trans.__('Could not delete endpoint %1', endpoint.name),
            reason
          );
          return false;
        }
      }
    });

    /** The active cell of the current notebook, if it is a code cell. */
    const activeCodeCell = () => {
      const cell = notebooks?.activeCell ?? null;
      return cell && cell.model.type === 'code' ? cell : null;
    };

    commands.addCommand(EndpointCommandIDs.publish, {
      label: args =>
        args.isPalette ? trans.__('Publish Model…') : trans.__('Publish model'),
      caption: trans.__(
        'Publish a model this cell trained: log it to MLflow, register a version and serve it on a URL (DataOps)'
      ),
      icon: args => (args.isPalette ? undefined : publishModelIcon),
      isVisible: args => !args.cellToolbar || activeCodeCell() !== null,
      execute: async () => {
        const panel = notebooks?.currentWidget ?? null;
        if (!panel) {
          Notification.info(
            trans.__(
              'Open a notebook and select the cell that trains the model, then publish it.'
            ),
            { autoClose: 6000 }
          );
          return;
        }
        const target = currentNotebookKernel(panel);
        if (!target) {
          Notification.warning(
            trans.__(
              '%1 has no running kernel: run the cell that trains the model first.',
              panel.context.path
            ),
            { autoClose: 8000 }
          );
          return;
        }
        if (!(await isPythonKernel(target.kernel))) {
          Notification.error(
            trans.__(
              'Could not publish: the kernel of %1 does not run Python.',
              target.name
            ),
            { autoClose: 8000 }
          );
          return;
        }
        const cell = panel.content.activeCell;
        const source = cell ? cell.model.sharedModel.getSource() : '';
        const kernel = target.kernel;
        let open = true;
        await openPublishDialog({
          title: trans.__('Publish a model'),
          trans,
          notebook: target.name,
          loadCandidates: () => loadCandidates(kernel, source),
          publish: async (choice, onProgress) => {
            // The magic tells its own phases; the server's events tell when
            // the endpoint starts and answers.
            const steps = new PublishSteps(
              model,
              choice.name,
              onProgress,
              trans
            );
            try {
              const publication = await publishInKernel(
                kernel,
                choice,
                progress => steps.kernel(progress)
              );
              model.recordPublication(publication);
              if (!open && publication.published === false) {
                Notification.warning(notServedText(publication, trans), {
                  autoClose: 10000
                });
              } else if (!open) {
                Notification.success(
                  trans.__(
                    'Published %1 v%2 at %3 (%4).',
                    publication.version.name,
                    publication.version.version,
                    publication.endpoint.name,
                    formatSeconds(publication.seconds, trans)
                  ),
                  {
                    autoClose: 8000,
                    actions: [
                      {
                        label: trans.__('Show'),
                        callback: () => show(publication.endpoint.name)
                      }
                    ]
                  }
                );
              }
              return publication;
            } catch (reason) {
              if (!open) {
                reportError(
                  trans.__('Could not publish %1', choice.name),
                  reason instanceof PublishError ||
                    reason instanceof DataOpsApiError
                    ? reason
                    : new Error(kernelErrorText(reason))
                );
              }
              throw reason;
            } finally {
              steps.dispose();
            }
          },
          existing: name => model.getEndpoint(name),
          // Where the server serves endpoints (this machine, a cluster).
          loadSettings: () => model.client.getModelSettings(),
          loadSnippets: name => model.snippets(name),
          onShow: show
        });
        open = false;
      }
    });
    notebooks?.activeCellChanged.connect(() =>
      commands.notifyCommandChanged(EndpointCommandIDs.publish)
    );

    app.contextMenu.addItem({
      command: EndpointCommandIDs.publish,
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 40
    });

    if (palette) {
      const category = trans.__('DataOps');
      palette.addItem({
        command: EndpointCommandIDs.publish,
        category,
        args: { isPalette: true }
      });
      palette.addItem({ command: EndpointCommandIDs.open, category });
      palette.addItem({ command: EndpointCommandIDs.refresh, category });
    }
  }
};
