/**
 * The DataOps sidebar: a host of collapsible sections, one per capability
 * (jobs today; schedules, snapshots, endpoints and sandboxes next), ordered
 * by rank. Plugins add theirs through the `IDataOpsSidebar` token.
 */
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import {
  PanelWithToolbar,
  ReactWidget,
  SidePanel
} from '@jupyterlab/ui-components';
import { DisposableDelegate } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { AccordionPanel, Widget } from '@lumino/widgets';
import * as React from 'react';

import { dataOpsIcon } from '../icons';
import {
  IDataOpsSidebar,
  ISidebarSection,
  ISidebarSectionOptions
} from '../tokens';

/** The rank of a section added without one. */
export const DEFAULT_SECTION_RANK = 100;

/** The sidebar widget, hosting the sections. */
export class DataOpsSidebar extends SidePanel implements IDataOpsSidebar {
  constructor(options: DataOpsSidebar.IOptions = {}) {
    const translator = options.translator ?? nullTranslator;
    super({ translator });
    const trans = translator.load('jupyter-dataops');
    this._activate = options.activate ?? null;
    this.id = options.id ?? 'jp-DataOps-sidebar';
    this.addClass('jp-DataOps-sidebar');
    this.title.icon = dataOpsIcon;
    this.title.caption = trans.__('DataOps');

    const heading = document.createElement('h2');
    heading.className = 'jp-DataOps-sidebarTitle';
    heading.textContent = trans.__('DataOps');
    this.header.addWidget(new Widget({ node: heading }));

    this.accordion.expansionToggled.connect(this._onToggled, this);
  }

  get sections(): ReadonlyArray<ISidebarSection> {
    return this._sections;
  }

  get sectionsChanged(): ISignal<this, void> {
    return this._sectionsChanged;
  }

  get expansionChanged(): ISignal<this, { id: string; expanded: boolean }> {
    return this._expansionChanged;
  }

  addSection(options: ISidebarSectionOptions): ISidebarSection {
    if (this._sections.some(section => section.id === options.id)) {
      throw new Error(`A DataOps sidebar section "${options.id}" exists.`);
    }
    const panel = new PanelWithToolbar();
    panel.id = `jp-DataOps-section-${options.id}`;
    panel.addClass('jp-DataOps-section');
    panel.node.dataset.section = options.id;
    panel.title.label = options.title;
    panel.title.caption = options.caption ?? options.title;
    if (options.icon) {
      panel.title.icon = options.icon;
    }
    for (const item of options.toolbar ?? []) {
      panel.toolbar.addItem(item.name, item.widget);
    }
    const content =
      options.content instanceof Widget
        ? options.content
        : ReactWidget.create(React.createElement(options.content));
    content.addClass('jp-DataOps-sectionContent');
    panel.addWidget(content);

    const rank = options.rank ?? DEFAULT_SECTION_RANK;
    const section: ISidebarSection = new Private.Section(
      options.id,
      options.title,
      rank,
      panel,
      content,
      () => this._removeSection(section)
    );
    // After the sections of the same rank that came before it.
    const index = this._sections.filter(other => other.rank <= rank).length;
    this._sections.splice(index, 0, section);
    this.insertWidget(index, panel);
    if (this._collapsed.has(options.id) || options.expanded === false) {
      this.setExpanded(options.id, false);
    }
    this._sectionsChanged.emit();
    return section;
  }

  showSection(sectionId?: string): void {
    this._activate?.(this.id);
    if (sectionId === undefined) {
      return;
    }
    const section = this._find(sectionId);
    if (section) {
      this.setExpanded(sectionId, true);
      section.widget.node.scrollIntoView?.({ block: 'nearest' });
    }
  }

  isExpanded(id: string): boolean {
    const section = this._find(id);
    return section ? !section.widget.isHidden : !this._collapsed.has(id);
  }

  setExpanded(id: string, expanded: boolean): void {
    const index = this._sections.findIndex(section => section.id === id);
    if (index < 0) {
      // Applied when the section is added.
      if (expanded) {
        this._collapsed.delete(id);
      } else {
        this._collapsed.add(id);
      }
      return;
    }
    if (this.isExpanded(id) !== expanded) {
      if (expanded) {
        this.accordion.expand(index);
      } else {
        this.accordion.collapse(index);
      }
    }
  }

  /** The sections collapsed now, or to be collapsed when they are added. */
  get collapsed(): ReadonlyArray<string> {
    return [...this._collapsed];
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    for (const section of [...this._sections]) {
      section.dispose();
    }
    super.dispose();
    Signal.clearData(this);
  }

  private get accordion(): AccordionPanel {
    return this.content as AccordionPanel;
  }

  private _find(id: string): ISidebarSection | undefined {
    return this._sections.find(section => section.id === id);
  }

  private _removeSection(section: ISidebarSection): void {
    const index = this._sections.indexOf(section);
    if (index < 0) {
      return;
    }
    this._sections.splice(index, 1);
    if (!this.isDisposed) {
      this._sectionsChanged.emit();
    }
  }

  private _onToggled(_: AccordionPanel, index: number): void {
    const widget = this.accordion.widgets[index];
    const section = this._sections.find(item => item.widget === widget);
    if (!section) {
      return;
    }
    const expanded = !widget.isHidden;
    if (expanded) {
      this._collapsed.delete(section.id);
    } else {
      this._collapsed.add(section.id);
    }
    this._expansionChanged.emit({ id: section.id, expanded });
  }

  private _sections: ISidebarSection[] = [];
  private _collapsed = new Set<string>();
  private _activate: ((id: string) => void) | null;
  private _sectionsChanged = new Signal<this, void>(this);
  private _expansionChanged = new Signal<
    this,
    { id: string; expanded: boolean }
  >(this);
}

export namespace DataOpsSidebar {
  export interface IOptions {
    translator?: ITranslator;
    /** The widget's id (default `jp-DataOps-sidebar`). */
    id?: string;
    /** Bring the sidebar into view, e.g. `id => app.shell.activateById(id)`. */
    activate?: (id: string) => void;
  }
}

namespace Private {
  /** A section added to the sidebar; disposing it removes it. */
  export class Section extends DisposableDelegate implements ISidebarSection {
    constructor(
      readonly id: string,
      readonly title: string,
      readonly rank: number,
      readonly widget: PanelWithToolbar,
      readonly content: Widget,
      onDispose: () => void
    ) {
      super(() => {
        onDispose();
        widget.dispose();
      });
    }
  }
}
