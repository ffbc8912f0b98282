/**
 * The endpoints model: the catalogue as a generic collection of endpoints
 * (by name), their recent traffic for the catalogue's rows, and the endpoint
 * operations (start, stop, restart, delete, promote, roll back, split
 * traffic, publish).
 *
 * Endpoint events keep the catalogue live (an endpoint starting shows at
 * once, then running or failed); their `drifted` flag, the drift scores of
 * the endpoints fetched and the drift reports read tell when an endpoint's
 * requests drift over its threshold: `driftCrossed` says so once per
 * crossing.
 */
import { Event } from '@jupyterlab/services';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataOpsApiError } from '../api';
import {
  CollectionModel,
  ICollectionModel,
  ICollectionPage,
  parseCollectionEvent,
  wholeListPage
} from '../collection';
import { IDriftCrossing, IEndpointsModel } from '../tokens';
import { IEndpointsClient } from './client';
import { isDrifted } from './format';
import {
  DriftReport,
  Endpoint,
  ENDPOINT_EVENT_SCHEMA_ID,
  EndpointMetrics,
  EndpointQuery,
  InvokeResult,
  ModelList,
  Publication,
  PublishRequest,
  RegisteredModel,
  Snippets,
  TrafficRequest
} from './types';

/** The endpoints model. */
export class EndpointsModel implements IEndpointsModel {
  constructor(options: EndpointsModel.IOptions) {
    this.client = options.client;
    this._options = options;
    this.collection = new CollectionModel<Endpoint, EndpointQuery>({
      fetch: query => this._fetchPage(query),
      idField: 'name',
      eventSchemaId: ENDPOINT_EVENT_SCHEMA_ID,
      query: {},
      countKey: endpoint => endpoint.status,
      byIds: ids => ({ id: [...ids] }),
      poll: options.poll,
      pollInterval: options.pollInterval,
      maxPollInterval: options.maxPollInterval,
      refreshDelay: options.refreshDelay,
      name: 'jupyter-dataops:endpoints'
    });
    this.collection.itemChanged.connect(this._onItemChanged, this);
    this.collection.changed.connect(this._onCollectionChanged, this);
  }

  readonly client: IEndpointsClient;
  readonly collection: CollectionModel<Endpoint, EndpointQuery>;

  get metricsChanged(): ISignal<this, string> {
    return this._metricsChanged;
  }

  get driftCrossed(): ISignal<this, IDriftCrossing> {
    return this._driftCrossed;
  }

  getEndpoint(name: string): Endpoint | undefined {
    return this.collection.get(name);
  }

  async fetchEndpoint(name: string): Promise<Endpoint | null> {
    const since = this.collection.seq;
    try {
      const endpoint = await this.client.getEndpoint(name);
      this.collection.put(endpoint, since);
      return this.collection.get(name) ?? endpoint;
    } catch (reason) {
      if (reason instanceof DataOpsApiError && reason.kind === 'not_found') {
        this.collection.remove(name);
        return null;
      }
      throw reason;
    }
  }

  getMetrics(name: string): EndpointMetrics | undefined {
    return this._metrics.get(name);
  }

  fetchMetrics(name: string): Promise<EndpointMetrics> {
    let pending = this._fetchingMetrics.get(name);
    if (!pending) {
      pending = this.client
        .getMetrics(name)
        .then(metrics => {
          if (!this._isDisposed) {
            this._metrics.set(name, metrics);
            this._metricsChanged.emit(name);
          }
          return metrics;
        })
        .finally(() => this._fetchingMetrics.delete(name));
      this._fetchingMetrics.set(name, pending);
    }
    return pending;
  }

  watchMetrics(): IDisposable {
    this._watchers++;
    if (this._watchers === 1) {
      this._metricsTick();
    }
    return new DisposableDelegate(() => {
      this._watchers = Math.max(0, this._watchers - 1);
      if (this._watchers === 0 && this._metricsTimer !== null) {
        clearTimeout(this._metricsTimer);
        this._metricsTimer = null;
      }
    });
  }

  async fetchDrift(name: string): Promise<DriftReport> {
    const report = await this.client.getDrift(name);
    this._noteDrift(name, report.drifted, report.score, report.threshold, true);
    return report;
  }

  snippets(name: string): Promise<Snippets> {
    return this.client.getSnippets(name);
  }

  invoke(
    name: string,
    payload: { [key: string]: unknown }
  ): Promise<InvokeResult> {
    return this.client.invoke(name, payload);
  }

  listModels(): Promise<ModelList> {
    return this.client.listModels();
  }

  getModel(modelName: string): Promise<RegisteredModel> {
    return this.client.getModel(modelName);
  }

  async publish(request: PublishRequest): Promise<Publication> {
    const since = this.collection.seq;
    const publication = await this.client.publish(request);
    this.recordPublication(publication, since);
    return publication;
  }

  recordPublication(publication: Publication, since?: number): void {
    this.collection.put(publication.endpoint, since);
    // Its traffic starts now: the catalogue asks for it on its next round.
    this._metrics.delete(publication.endpoint.name);
  }

  startEndpoint(name: string): Promise<Endpoint> {
    return this._change(() => this.client.startEndpoint(name));
  }

  stopEndpoint(name: string): Promise<Endpoint> {
    return this._change(() => this.client.stopEndpoint(name));
  }

  restartEndpoint(name: string): Promise<Endpoint> {
    return this._change(() => this.client.restartEndpoint(name));
  }

  rollbackEndpoint(name: string): Promise<Endpoint> {
    return this._change(() => this.client.rollbackEndpoint(name));
  }

  promoteEndpoint(name: string, version?: number | null): Promise<Endpoint> {
    return this._change(() => this.client.promoteEndpoint(name, version));
  }

  splitTraffic(name: string, request: TrafficRequest): Promise<Endpoint> {
    return this._change(() => this.client.splitTraffic(name, request));
  }

  async deleteEndpoint(name: string): Promise<void> {
    await this.client.deleteEndpoint(name);
    this.collection.remove(name);
    this._metrics.delete(name);
    this._drifted.delete(name);
  }

  async refresh(): Promise<void> {
    await this.collection.refresh();
  }

  handleEvent(emission: Event.Emission): void {
    if (this._isDisposed) {
      return;
    }
    const event = parseCollectionEvent(emission, ENDPOINT_EVENT_SCHEMA_ID);
    if (!event) {
      return;
    }
    this.collection.handleEvent(emission);
    if (event.action === 'deleted') {
      this._drifted.delete(event.id);
      this._metrics.delete(event.id);
      return;
    }
    if (typeof event.drifted === 'boolean') {
      // The event has no score: the one known is the crossing's only if it
      // says the same (else it is older than the event).
      const known = this.collection.get(event.id);
      const same = known !== undefined && isDrifted(known) === event.drifted;
      this._noteDrift(
        event.id,
        event.drifted,
        same ? known.drift_score : null,
        same ? known.drift_threshold : null,
        true
      );
    }
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    if (this._metricsTimer !== null) {
      clearTimeout(this._metricsTimer);
      this._metricsTimer = null;
    }
    this.collection.dispose();
    Signal.clearData(this);
  }

  /** The catalogue as a collection page: the list route answers every endpoint at once. */
  private async _fetchPage(
    query: EndpointQuery
  ): Promise<ICollectionPage<Endpoint>> {
    // The page reflects at least every change seen before it was asked for.
    const seq = this.collection?.seq ?? 0;
    const page = await this.client.listEndpoints();
    return wholeListPage(
      page.items,
      page.total,
      query.id,
      item => item.name,
      seq
    );
  }

  /** A change the user asked for: its answer shown at once. */
  private async _change(request: () => Promise<Endpoint>): Promise<Endpoint> {
    const since = this.collection.seq;
    const endpoint = await request();
    this.collection.put(endpoint, since);
    return endpoint;
  }

  private _onItemChanged(
    _: unknown,
    change: ICollectionModel.IItemChange<Endpoint>
  ): void {
    const { id, previous, current } = change;
    if (current === null) {
      this._drifted.delete(id);
      return;
    }
    // Only new drift scores tell something: an event's patch keeps the old one.
    if (
      previous === undefined ||
      previous.drift_score !== current.drift_score ||
      previous.drift_threshold !== current.drift_threshold ||
      previous.drift_checked_at !== current.drift_checked_at
    ) {
      this._noteDrift(
        id,
        isDrifted(current) ?? false,
        current.drift_score,
        current.drift_threshold,
        previous !== undefined
      );
    }
  }

  /**
   * Record whether an endpoint is drifted; one that was seen not drifted
   * (or never seen, when `live` news says so) and is now crosses.
   */
  private _noteDrift(
    name: string,
    drifted: boolean,
    score: number | null,
    threshold: number | null,
    live: boolean
  ): void {
    const before = this._drifted.get(name);
    this._drifted.set(name, drifted);
    if (!drifted || this._isDisposed) {
      return;
    }
    if (before === false || (before === undefined && live)) {
      this._driftCrossed.emit({ name, score, threshold });
    }
  }

  private _onCollectionChanged(): void {
    if (this._watchers === 0 || this._isDisposed) {
      return;
    }
    // An endpoint that began answering: its traffic now, not on the next round.
    const missing = this._watchedNames().filter(
      name => !this._metrics.has(name) && !this._fetchingMetrics.has(name)
    );
    for (const name of missing) {
      void this.fetchMetrics(name).catch(() => undefined);
    }
  }

  /** The endpoints whose traffic the catalogue shows: those answering. */
  private _watchedNames(): string[] {
    return this.collection.items
      .filter(item => item.status === 'running' || item.status === 'starting')
      .map(item => item.name);
  }

  /** Fetch the catalogue's traffic, then again after the interval, while watched. */
  private _metricsTick(): void {
    if (this._watchers === 0 || this._isDisposed) {
      return;
    }
    const hidden = typeof document !== 'undefined' && document.hidden;
    if (!hidden) {
      for (const name of this._watchedNames()) {
        void this.fetchMetrics(name).catch(() => undefined);
      }
    }
    this._metricsTimer = setTimeout(() => {
      this._metricsTimer = null;
      this._metricsTick();
    }, this._options.metricsInterval ?? 10000);
  }

  private _options: EndpointsModel.IOptions;
  private _isDisposed = false;
  private _metrics = new Map<string, EndpointMetrics>();
  private _fetchingMetrics = new Map<string, Promise<EndpointMetrics>>();
  private _watchers = 0;
  private _metricsTimer: ReturnType<typeof setTimeout> | null = null;
  /** Whether each endpoint was last known drifted. */
  private _drifted = new Map<string, boolean>();
  private _metricsChanged = new Signal<this, string>(this);
  private _driftCrossed = new Signal<this, IDriftCrossing>(this);
}

export namespace EndpointsModel {
  export interface IOptions {
    client: IEndpointsClient;
    /** Poll the catalogue as a fallback for missed events (default true). */
    poll?: boolean;
    /** Milliseconds between polls of the catalogue while all is well (default 10 s). */
    pollInterval?: number;
    /** The longest wait between polls while the server fails (default 5 min). */
    maxPollInterval?: number;
    /** Milliseconds to gather events before refetching (default 500). */
    refreshDelay?: number;
    /** Milliseconds between rounds of the catalogue's traffic (default 10 s). */
    metricsInterval?: number;
  }
}
