/**
 * One model for every paged, filtered, live-updated list of the DataOps
 * sidebar (jobs today; schedules, snapshots, endpoints and sandboxes next).
 *
 * It knows the REST conventions those lists share, not what is in them:
 * a list route answers pages (`items`, `next_cursor`, `prev_cursor`, `total`,
 * `total_is_estimate`, `counts`, `seq`), takes `id`, `limit` and `cursor`
 * query arguments besides its own filters, and the store announces each
 * change as an event `{action, id, seq, ...}` numbered in commit order.
 */
import { Event } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { DataOpsApiError } from '../api';

/** When a page's total is an estimate, ask again after this long (ms). */
const ESTIMATE_REFRESH_MS = 1500;
/** One page of a list, as every DataOps list route answers (e.g. `JobPage`). */
export interface ICollectionPage<TItem> {
  items: TItem[];
  /** The next page, or null on the last one. */
  next_cursor: string | null;
  /** The page before, or null on the first one. */
  prev_cursor: string | null;
  /** How many items match the filters, on all pages. */
  total: number;
  /** Whether `total` is approximate. */
  total_is_estimate: boolean;
  /** Items per status (or other facet), whatever the filters. */
  counts: { [key: string]: number };
  /** The store's change sequence number this page reflects. */
  seq: number;
}

/** The query arguments every DataOps list route takes besides its filters. */
export interface ICollectionQuery {
  /** Only these items (full ids). */
  id?: string[] | null;
  limit?: number;
  /** `next_cursor` or `prev_cursor` of a page. */
  cursor?: string | null;
}

/** A change announced on the server's event bus, as every DataOps event schema shapes it. */
export interface ICollectionEvent {
  action: 'created' | 'updated' | 'deleted';
  id: string;
  /** The change's number in the store's change log (commit order). */
  seq: number;
  /** What the schema adds (e.g. a job's status and progress). */
  [field: string]: unknown;
}

/** The keys of `T` whose values are strings (an item's id field must be one). */
export type StringKeys<T> = {
  [K in keyof T]-?: T[K] extends string ? K : never;
}[keyof T];

/**
 * Read a DataOps change event from a server event, or null if it is not one
 * of `schemaId` or is malformed.
 */
export function parseCollectionEvent(
  emission: Event.Emission | null | undefined,
  schemaId: string
): ICollectionEvent | null {
  if (!emission || emission.schema_id !== schemaId) {
    return null;
  }
  const { action, id, seq } = emission as { [key: string]: unknown };
  if (
    (action !== 'created' && action !== 'updated' && action !== 'deleted') ||
    typeof id !== 'string' ||
    id === '' ||
    typeof seq !== 'number' ||
    !Number.isInteger(seq) ||
    seq < 1
  ) {
    return null;
  }
  return { ...(emission as object), action, id, seq };
}

/** A paged, filtered list of items kept up to date from server events. */
export interface ICollectionModel<
  TItem,
  TQuery extends ICollectionQuery
> extends IDisposable {
  /** The items of the current page, in the server's order. */
  readonly items: ReadonlyArray<TItem>;
  /** How many items match the filters, on all pages. */
  readonly total: number;
  /** Whether `total` is approximate ("about N"). */
  readonly totalIsEstimate: boolean;
  /** Items per status, whatever the filters. */
  readonly counts: Readonly<{ [key: string]: number }>;
  /** The filters, sort and page size (no cursor: see `next`, `previous`). */
  readonly query: Readonly<TQuery>;
  /** The position of the current page's first item in the whole list, from 0. */
  readonly offset: number;
  readonly hasNext: boolean;
  readonly hasPrevious: boolean;
  /** Whether a page has been loaded once. */
  readonly ready: boolean;
  /** Whether a page request is under way. */
  readonly loading: boolean;
  /** Why the last page request failed, or null if it did not. */
  readonly error: DataOpsApiError | null;
  /** The highest change sequence number seen (pages and events). */
  readonly seq: number;
  /** The page, its filters or one of its items changed. */
  readonly changed: ISignal<ICollectionModel<TItem, TQuery>, void>;
  /** A known item changed, appeared (`previous` undefined) or was deleted (`current` null). */
  readonly itemChanged: ISignal<
    ICollectionModel<TItem, TQuery>,
    ICollectionModel.IItemChange<TItem>
  >;

  /** Change filters, sort or page size, and go back to the first page. */
  setQuery(changes: Partial<TQuery>): void;
  /** Go to the next page, if there is one. */
  next(): void;
  /** Go to the page before, if there is one. */
  previous(): void;
  /** Go to the first page. */
  first(): void;
  /** Fetch the current page now. Never throws: a failure is kept in `error`. */
  refresh(): Promise<void>;
  /** The last known state of an item, on this page or not. */
  get(id: string): TItem | undefined;
  /** Whether the current page holds the item. */
  has(id: string): boolean;
  /**
   * Record an item's state from outside a list, e.g. the answer to a change
   * the user made. `since` is this model's `seq` when that request was sent
   * (default: now): the answer reflects at least that, and loses to any
   * newer change the model saw meanwhile.
   *
   * ```ts
   * const since = model.seq;
   * model.put(await client.cancel(id), since);
   * ```
   */
  put(item: TItem, since?: number): void;
  /** Forget an item that no longer exists. */
  remove(id: string): void;
  /** Fetch items by id, whatever the filters, so they can be found and followed. */
  fetchById(ids: ReadonlyArray<string>): Promise<void>;
  /**
   * Take a server event; returns whether it was one of this collection's
   * (applied or, being older than what is known, dropped).
   */
  handleEvent(emission: Event.Emission): boolean;
}

export namespace ICollectionModel {
  export interface IItemChange<TItem> {
    id: string;
    /** The state before, or undefined for an item seen for the first time. */
    previous: TItem | undefined;
    /** The new state, or null when the item was deleted. */
    current: TItem | null;
  }
}

/**
 * The collection model.
 *
 * Server events patch known items in place (never with an older `seq` than
 * the item's state already reflects) and schedule a throttled refetch of
 * the page; items that events name but no page showed (filters hide them)
 * are fetched by id, so they can still be found. A slow poll catches missed
 * events, backing off while the server fails.
 */
export class CollectionModel<
  TItem,
  TQuery extends ICollectionQuery
> implements ICollectionModel<TItem, TQuery> {
  constructor(options: CollectionModel.IOptions<TItem, TQuery>) {
    this._fetchPage = options.fetch;
    this._idField = options.idField;
    this.eventSchemaId = options.eventSchemaId;
    this._patch = options.patch ?? defaultPatch;
    this._shouldRefetch = options.shouldRefetch ?? (() => true);
    this._byIds =
      options.byIds ??
      (ids => ({ id: [...ids], limit: ids.length }) as unknown as TQuery);
    this._countKey = options.countKey ?? null;
    this._maxIds = options.maxIdsPerRequest ?? 100;
    this._maxKnown = options.maxKnown ?? 10000;
    this._refreshDelay = options.refreshDelay ?? 500;
    this._query = stripPaging(options.query);
    if (options.poll !== false) {
      this._poll = new Poll({
        factory: () => this._tick(),
        frequency: {
          interval: options.pollInterval ?? 10000,
          backoff: true,
          max: options.maxPollInterval ?? 5 * 60 * 1000
        },
        name: options.name ?? `jupyter-dataops:${this.eventSchemaId}`,
        standby: 'when-hidden'
      });
    }
  }

  /** The schema id of the events this collection follows. */
  readonly eventSchemaId: string;

  /** The fallback poll, or null when polling is off. */
  get poll(): Poll | null {
    return this._poll;
  }

  get items(): ReadonlyArray<TItem> {
    return this._items;
  }

  get total(): number {
    return this._total;
  }

  get totalIsEstimate(): boolean {
    return this._totalIsEstimate;
  }

  get counts(): Readonly<{ [key: string]: number }> {
    return this._counts;
  }

  get query(): Readonly<TQuery> {
    return this._query;
  }

  get offset(): number {
    return this._offset;
  }

  get hasNext(): boolean {
    return this._nextCursor !== null;
  }

  get hasPrevious(): boolean {
    return this._prevCursor !== null;
  }

  get ready(): boolean {
    return this._ready;
  }

  get loading(): boolean {
    return this._loading;
  }

  get error(): DataOpsApiError | null {
    return this._error;
  }

  get seq(): number {
    return this._seq;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get itemChanged(): ISignal<this, ICollectionModel.IItemChange<TItem>> {
    return this._itemChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    this._poll?.dispose();
    Signal.clearData(this);
  }

  setQuery(changes: Partial<TQuery>): void {
    const next = stripPaging({ ...this._query, ...changes });
    if (next.limit !== undefined) {
      next.limit = Math.max(1, Math.floor(next.limit));
    }
    this._query = next;
    this._goTo(null, 0);
  }

  next(): void {
    if (this._nextCursor !== null) {
      this._goTo(this._nextCursor, this._offset + this._items.length);
    }
  }

  previous(): void {
    if (this._prevCursor !== null) {
      const limit = this._query.limit ?? this._items.length;
      this._goTo(this._prevCursor, Math.max(0, this._offset - limit));
    }
  }

  first(): void {
    this._goTo(null, 0);
  }

  async refresh(): Promise<void> {
    try {
      await this._fetch();
    } catch {
      // Kept in `error`, which the views show.
    }
  }

  get(id: string): TItem | undefined {
    return this._known.get(id);
  }

  has(id: string): boolean {
    return this._items.some(item => this._id(item) === id);
  }

  put(item: TItem, since: number = this._seq): void {
    if (this._isDisposed) {
      return;
    }
    // Newer than what the model had seen when the request left, older than
    // any change numbered after that.
    const changes: ICollectionModel.IItemChange<TItem>[] = [];
    const shown = this._observe(item, since + 0.5, changes);
    this._recountChanges(changes);
    this._replaceOnPage(shown);
    this._emit(changes, true);
  }

  remove(id: string): void {
    this._forget(id, this._seq + 0.5);
  }

  async fetchById(ids: ReadonlyArray<string>): Promise<void> {
    const wanted = [...new Set(ids)];
    for (let start = 0; start < wanted.length; start += this._maxIds) {
      if (this._isDisposed) {
        return;
      }
      const batch = wanted.slice(start, start + this._maxIds);
      const page = await this._fetchPage(this._byIds(batch));
      if (this._isDisposed) {
        return;
      }
      this._seq = Math.max(this._seq, page.seq);
      const changes: ICollectionModel.IItemChange<TItem>[] = [];
      let onPage = false;
      for (const item of page.items) {
        if (this._isDeletedSince(this._id(item), page.seq)) {
          continue;
        }
        const shown = this._observe(item, page.seq, changes);
        onPage = this._replaceOnPage(shown) || onPage;
      }
      this._recountChanges(changes);
      this._emit(changes, onPage || changes.length > 0);
    }
  }

  handleEvent(emission: Event.Emission): boolean {
    const event = parseCollectionEvent(emission, this.eventSchemaId);
    if (!event) {
      return false;
    }
    if (this._isDisposed) {
      return true;
    }
    this._seq = Math.max(this._seq, event.seq);
    const { id } = event;
    const previous = this._known.get(id);
    const knownSeq = this._knownSeq.get(id) ?? -Infinity;
    if (event.seq <= knownSeq || this._isDeletedSince(id, event.seq)) {
      // What the item's state already reflects.
      return true;
    }
    if (event.action === 'deleted') {
      if (previous !== undefined) {
        this._recount(previous, null);
      }
      this._forget(id, event.seq);
      this._scheduleRefresh();
      return true;
    }
    if (previous === undefined) {
      // Not on a page (filters may hide it): fetch it so it can be found.
      this._wanted.add(id);
      this._scheduleRefresh();
      return true;
    }
    const current = this._patch(previous, event);
    this._recount(previous, current);
    this._setKnown(id, current, event.seq);
    const onPage = this._replaceOnPage(current);
    this._emit([{ id, previous, current }], onPage);
    if (this._shouldRefetch(event, previous)) {
      this._scheduleRefresh();
    }
    return true;
  }

  /** Fetch the current page; throws on failure (so the poll backs off). */
  private async _fetch(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    const request = ++this._requestId;
    const query = { ...this._query } as TQuery;
    if (this._cursor !== null) {
      query.cursor = this._cursor;
    }
    this._loading = true;
    this._changed.emit();
    let page: ICollectionPage<TItem>;
    try {
      page = await this._fetchPage(query);
    } catch (reason) {
      if (request === this._requestId && !this._isDisposed) {
        this._loading = false;
        this._error = DataOpsApiError.from(reason);
        this._changed.emit();
      }
      throw reason;
    }
    if (request !== this._requestId || this._isDisposed) {
      // A newer request (other filters or page) has been sent since.
      return;
    }
    this._applyPage(page);
  }

  private _applyPage(page: ICollectionPage<TItem>): void {
    this._loading = false;
    this._error = null;
    this._ready = true;
    this._seq = Math.max(this._seq, page.seq);
    if (page.items.length === 0 && this._cursor !== null) {
      // The page emptied (its items were deleted): start again from the top.
      this._goTo(null, 0);
      return;
    }
    const changes: ICollectionModel.IItemChange<TItem>[] = [];
    const kept: [TItem, TItem][] = [];
    this._items = page.items
      .filter(item => !this._isDeletedSince(this._id(item), page.seq))
      .map(item => {
        const shown = this._observe(item, page.seq, changes);
        if (shown !== item) {
          kept.push([item, shown]);
        }
        return shown;
      });
    this._total = page.total;
    this._totalIsEstimate = page.total_is_estimate;
    this._counts = { ...page.counts };
    // The page's counts are as old as the page: move the items known newer.
    for (const [old, shown] of kept) {
      this._recount(old, shown);
    }
    this._nextCursor = page.next_cursor;
    this._prevCursor = page.prev_cursor;
    if (page.prev_cursor === null) {
      // The first page: refresh it from the top from now on, so items
      // added above the cursor it was reached with show up.
      this._cursor = null;
      this._offset = 0;
    } else if (page.next_cursor === null && !page.total_is_estimate) {
      // The last page: its position is known exactly.
      this._offset = Math.max(0, page.total - this._items.length);
    }
    this._emit(changes, true);
    if (page.total_is_estimate) {
      // The server reuses a recent count while items keep changing; if they
      // stop, nothing would ask again: ask once more, so the total settles.
      this._scheduleRefresh(ESTIMATE_REFRESH_MS);
    }
  }

  /**
   * Record an item's state as of `seq`, unless a newer one is known; returns
   * the state to show.
   */
  private _observe(
    item: TItem,
    seq: number,
    changes: ICollectionModel.IItemChange<TItem>[]
  ): TItem {
    const id = this._id(item);
    const previous = this._known.get(id);
    const knownSeq = this._knownSeq.get(id) ?? -Infinity;
    if (previous !== undefined && knownSeq > seq) {
      return previous;
    }
    this._setKnown(id, item, seq);
    this._wanted.delete(id);
    if (
      previous === undefined ||
      JSON.stringify(previous) !== JSON.stringify(item)
    ) {
      changes.push({ id, previous, current: item });
    }
    return item;
  }

  private _setKnown(id: string, item: TItem, seq: number): void {
    // Re-insert so the map's order is the order of last use.
    this._known.delete(id);
    this._known.set(id, item);
    this._knownSeq.set(id, seq);
    if (this._known.size > this._maxKnown) {
      for (const old of this._known.keys()) {
        if (this._known.size <= this._maxKnown) {
          break;
        }
        if (!this.has(old)) {
          this._known.delete(old);
          this._knownSeq.delete(old);
        }
      }
    }
  }

  private _forget(id: string, seq: number): void {
    const previous = this._known.get(id);
    this._known.delete(id);
    this._knownSeq.delete(id);
    this._wanted.delete(id);
    this._deleted.set(id, seq);
    if (this._deleted.size > this._maxKnown) {
      const oldest = this._deleted.keys().next().value;
      if (oldest !== undefined) {
        this._deleted.delete(oldest);
      }
    }
    const items = this._items.filter(item => this._id(item) !== id);
    const onPage = items.length !== this._items.length;
    this._items = items;
    this._emit(
      previous !== undefined ? [{ id, previous, current: null }] : [],
      onPage
    );
  }

  /** Move the items that changed between the counts. */
  private _recountChanges(
    changes: ReadonlyArray<ICollectionModel.IItemChange<TItem>>
  ): void {
    for (const { previous, current } of changes) {
      if (previous !== undefined) {
        this._recount(previous, current);
      }
    }
  }

  /**
   * Move an item between the counts when a change outside a page (an event,
   * an answer) changes its facet, so the counts follow at once; the next
   * page brings the server's own.
   */
  private _recount(previous: TItem, current: TItem | null): void {
    if (!this._countKey) {
      return;
    }
    const before = this._countKey(previous);
    const after = current === null ? null : this._countKey(current);
    if (before === after) {
      return;
    }
    const counts = { ...this._counts };
    if (counts[before] !== undefined) {
      counts[before] = Math.max(0, counts[before] - 1);
    }
    if (after !== null) {
      counts[after] = (counts[after] ?? 0) + 1;
    }
    this._counts = counts;
  }

  /** Whether the item was deleted by a change after `seq`. */
  private _isDeletedSince(id: string, seq: number): boolean {
    const deleted = this._deleted.get(id);
    return deleted !== undefined && deleted >= seq;
  }

  /** Show an item's new state if the page holds it; returns whether it did. */
  private _replaceOnPage(item: TItem): boolean {
    const id = this._id(item);
    const index = this._items.findIndex(other => this._id(other) === id);
    if (index < 0) {
      return false;
    }
    if (this._items[index] !== item) {
      const items = [...this._items];
      items[index] = item;
      this._items = items;
    }
    return true;
  }

  private _emit(
    changes: ICollectionModel.IItemChange<TItem>[],
    pageChanged: boolean
  ): void {
    if (this._isDisposed) {
      return;
    }
    if (pageChanged) {
      this._changed.emit();
    }
    for (const change of changes) {
      this._itemChanged.emit(change);
    }
  }

  private _goTo(cursor: string | null, offset: number): void {
    this._cursor = cursor;
    this._offset = offset;
    this._changed.emit();
    void this.refresh();
  }

  /** Refetch the page and fetch wanted items soon, once for a burst of events. */
  private _scheduleRefresh(delay?: number): void {
    if (this._timer !== null || this._isDisposed) {
      return;
    }
    this._timer = setTimeout(() => {
      this._timer = null;
      void this._tick().catch(() => undefined);
    }, delay ?? this._refreshDelay);
  }

  /** One poll: the page, and the items events named that no page showed. */
  private async _tick(): Promise<void> {
    const wanted = [...this._wanted];
    this._wanted.clear();
    await Promise.all([
      this._fetch(),
      wanted.length
        ? this.fetchById(wanted).catch(() => undefined)
        : Promise.resolve()
    ]);
  }

  private _id(item: TItem): string {
    return item[this._idField] as unknown as string;
  }

  private _fetchPage: (query: TQuery) => Promise<ICollectionPage<TItem>>;
  private _idField: StringKeys<TItem>;
  private _patch: (item: TItem, event: ICollectionEvent) => TItem;
  private _shouldRefetch: (
    event: ICollectionEvent,
    previous: TItem | undefined
  ) => boolean;
  private _byIds: (ids: ReadonlyArray<string>) => TQuery;
  private _countKey: ((item: TItem) => string) | null;
  private _maxIds: number;
  private _maxKnown: number;
  private _refreshDelay: number;
  private _query: TQuery;
  private _cursor: string | null = null;
  private _nextCursor: string | null = null;
  private _prevCursor: string | null = null;
  private _offset = 0;
  private _items: TItem[] = [];
  private _total = 0;
  private _totalIsEstimate = false;
  private _counts: { [key: string]: number } = {};
  private _ready = false;
  private _loading = false;
  private _error: DataOpsApiError | null = null;
  private _seq = 0;
  private _requestId = 0;
  private _isDisposed = false;
  private _poll: Poll | null = null;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  /** The last known state of each item, and the seq it reflects. */
  private _known = new Map<string, TItem>();
  private _knownSeq = new Map<string, number>();
  /** Items deleted, with the seq of the deletion. */
  private _deleted = new Map<string, number>();
  /** Items named by events but not known yet. */
  private _wanted = new Set<string>();
  private _changed = new Signal<this, void>(this);
  private _itemChanged = new Signal<this, ICollectionModel.IItemChange<TItem>>(
    this
  );
}

export namespace CollectionModel {
  export interface IOptions<TItem, TQuery extends ICollectionQuery> {
    /** Fetch one page of the list (`GET /dataops/api/<collection>`). */
    fetch: (query: TQuery) => Promise<ICollectionPage<TItem>>;
    /** The field holding an item's id, e.g. `'id'`. */
    idField: StringKeys<TItem>;
    /** The schema id of the change events of this collection. */
    eventSchemaId: string;
    /** The filters, sort and page size to start with. */
    query: TQuery;
    /**
     * An item updated from an event's fields, without a request. The default
     * copies the event's fields that the item has at its top level.
     */
    patch?: (item: TItem, event: ICollectionEvent) => TItem;
    /**
     * Whether an event for a known item changes what the page shows beyond
     * the item itself (its order, the totals, the counts), so the page is
     * fetched again. Default: always.
     */
    shouldRefetch?: (
      event: ICollectionEvent,
      previous: TItem | undefined
    ) => boolean;
    /**
     * The key of `counts` an item is counted under (e.g. its status), so
     * events move it between counts before the page is fetched again.
     */
    countKey?: (item: TItem) => string;
    /** The query that fetches items by id. Default: `{ id: ids, limit: ids.length }`. */
    byIds?: (ids: ReadonlyArray<string>) => TQuery;
    /** The most ids one request asks for (default 100). */
    maxIdsPerRequest?: number;
    /** The most items remembered off the page (default 10,000). */
    maxKnown?: number;
    /** Poll the list as a fallback for missed events (default true). */
    poll?: boolean;
    /** Milliseconds between polls while all is well (default 10 s). */
    pollInterval?: number;
    /** The longest wait between polls while the server fails (default 5 min). */
    maxPollInterval?: number;
    /** Milliseconds to gather events before refetching the page (default 500). */
    refreshDelay?: number;
    /** The poll's name, for debugging. */
    name?: string;
  }
}

/** The default patch: the event's fields that the item has at its top level. */
function defaultPatch<TItem>(item: TItem, event: ICollectionEvent): TItem {
  const patched = { ...item } as { [key: string]: unknown };
  for (const [key, value] of Object.entries(event)) {
    if (key !== 'action' && key !== 'seq' && key in patched) {
      patched[key] = value;
    }
  }
  return patched as TItem;
}

/** A query without the paging state the model keeps itself. */
function stripPaging<TQuery extends ICollectionQuery>(query: TQuery): TQuery {
  const copy = { ...query };
  delete copy.cursor;
  delete copy.id;
  return copy;
}
