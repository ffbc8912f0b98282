/**
 * The plugin that puts the DataOps sidebar in JupyterLab's left area and
 * provides it (`IDataOpsSidebar`) for capabilities to add their sections.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IStateDB } from '@jupyterlab/statedb';
import { ITranslator } from '@jupyterlab/translation';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { IDataOpsSidebar } from '../tokens';
import { DataOpsSidebar } from './host';

/** Where the collapsed sections are remembered. */
const STATE_KEY = 'jupyter-dataops:sidebar';

export const sidebarPlugin: JupyterFrontEndPlugin<IDataOpsSidebar> = {
  id: 'jupyter-dataops:sidebar',
  description:
    'Provides the DataOps sidebar, a host of sections (jobs, and more) ordered by rank.',
  autoStart: true,
  provides: IDataOpsSidebar,
  optional: [ITranslator, ILayoutRestorer, IStateDB],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null,
    state: IStateDB | null
  ): IDataOpsSidebar => {
    const sidebar = new DataOpsSidebar({
      translator: translator ?? undefined,
      activate: id => app.shell.activateById(id)
    });
    app.shell.add(sidebar, 'left', { rank: 700 });
    restorer?.add(sidebar, 'jupyter-dataops-sidebar');

    if (state) {
      // Restore which sections the user collapsed, then remember changes.
      void state
        .fetch(STATE_KEY)
        .then(value => {
          const saved = (value as ReadonlyPartialJSONObject | undefined)
            ?.collapsed;
          if (Array.isArray(saved)) {
            for (const id of saved) {
              if (typeof id === 'string') {
                sidebar.setExpanded(id, false);
              }
            }
          }
        })
        .catch(() => undefined)
        .then(() => {
          sidebar.expansionChanged.connect(() => {
            void state
              .save(STATE_KEY, { collapsed: [...sidebar.collapsed] })
              .catch(() => undefined);
          });
        });
    }
    return sidebar;
  }
};
