/**
 * The body of a collection section in the sidebar: a ReactWidget that shows
 * a model's list and remembers which item's detail is open.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { ISignal, Signal } from '@lumino/signaling';

/** What a section's view is given: the model, and the open item's detail. */
export interface ICollectionViewProps<TModel> {
  model: TModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** The item whose detail is open. */
  selected: string | null;
  onSelect: (id: string | null) => void;
}

/**
 * A section's body: its model, commands and translations, and the item
 * (a job, schedule, snapshot or endpoint) whose detail is open.
 */
export abstract class CollectionSection<TModel> extends ReactWidget {
  constructor(options: CollectionSection.IOptions<TModel>, className: string) {
    super();
    this.model = options.model;
    this.commands = options.commands;
    this.trans = options.trans;
    this.addClass(className);
  }

  readonly model: TModel;

  /** The item whose detail is open, or null. */
  get selected(): string | null {
    return this._selected;
  }

  /** Open one item's detail (and close any other). */
  select(id: string | null): void {
    this._selected = id;
    this._selectionChanged.emit();
    this.update();
  }

  /** Emitted when another item's detail opens (or the open one closes). */
  get selectionChanged(): ISignal<this, void> {
    return this._selectionChanged;
  }

  /** The props of the section's view. */
  protected viewProps(): ICollectionViewProps<TModel> {
    return {
      model: this.model,
      commands: this.commands,
      trans: this.trans,
      selected: this._selected,
      onSelect: id => this.select(id)
    };
  }

  protected readonly commands: CommandRegistry;
  protected readonly trans: TranslationBundle;
  private _selected: string | null = null;
  private _selectionChanged = new Signal<this, void>(this);
}

export namespace CollectionSection {
  /** What a section is made with. */
  export interface IOptions<TModel> {
    model: TModel;
    commands: CommandRegistry;
    trans: TranslationBundle;
  }
}
