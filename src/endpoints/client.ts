/**
 * The endpoint and model routes of the DataOps REST API
 * (`/dataops/api/endpoints`, `/dataops/api/models`).
 */
import { DataOpsClient } from '../api';
import {
  DriftReport,
  Endpoint,
  EndpointMetrics,
  EndpointPage,
  EndpointToken,
  InvokeResult,
  ModelList,
  ModelSettings,
  Publication,
  PublishRequest,
  RegisteredModel,
  Snippets,
  TrafficRequest
} from './types';

/** The endpoint operations the frontend uses; tests give fakes of it. */
export interface IEndpointsClient {
  /** The catalogue: every endpoint, by name. */
  listEndpoints(): Promise<EndpointPage>;
  getEndpoint(name: string): Promise<Endpoint>;
  /**
   * Register a model as a new version and serve it; answers once the
   * endpoint answered a request (seconds), or with why it could not start.
   */
  publish(request: PublishRequest): Promise<Publication>;
  /** Stop an endpoint and forget it (its model versions stay). */
  deleteEndpoint(name: string): Promise<void>;
  startEndpoint(name: string): Promise<Endpoint>;
  stopEndpoint(name: string): Promise<Endpoint>;
  restartEndpoint(name: string): Promise<Endpoint>;
  /** Serve the version served before the current one. */
  rollbackEndpoint(name: string): Promise<Endpoint>;
  /** Serve `version` (default: the canary) to all requests. */
  promoteEndpoint(name: string, version?: number | null): Promise<Endpoint>;
  /** Split traffic between the version served and a canary. */
  splitTraffic(name: string, request: TrafficRequest): Promise<Endpoint>;
  /** Requests, errors and latency over the last hour. */
  getMetrics(name: string): Promise<EndpointMetrics>;
  /** How far recent requests drifted from the reference data. */
  getDrift(name: string): Promise<DriftReport>;
  /** curl and Python requests built from the input example. */
  getSnippets(name: string): Promise<Snippets>;
  /** The token an endpoint off loopback requires (null on loopback). */
  getToken(name: string): Promise<EndpointToken>;
  /** Send a scoring request through the server. */
  invoke(
    name: string,
    payload: { [key: string]: unknown }
  ): Promise<InvokeResult>;
  /** Every registered model, with its versions and aliases. */
  listModels(): Promise<ModelList>;
  /** One registered model, with its versions and aliases. */
  getModel(modelName: string): Promise<RegisteredModel>;
  /**
   * Where a kernel logs a model, and where endpoints are served (`target`:
   * `local` or `kubernetes`).
   */
  getModelSettings(): Promise<ModelSettings>;
}

/** The endpoint client, on the shared DataOps client. */
export class EndpointsClient implements IEndpointsClient {
  constructor(readonly api: DataOpsClient) {}

  listEndpoints(): Promise<EndpointPage> {
    return this.api.requestJSON<EndpointPage>(this.api.url('endpoints'));
  }

  getEndpoint(name: string): Promise<Endpoint> {
    return this.api.requestJSON<Endpoint>(this.api.url('endpoints', name));
  }

  publish(request: PublishRequest): Promise<Publication> {
    return this.api.requestJSON<Publication>(this.api.url('endpoints'), {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  async deleteEndpoint(name: string): Promise<void> {
    await this.api.request(this.api.url('endpoints', name), {
      method: 'DELETE'
    });
  }

  startEndpoint(name: string): Promise<Endpoint> {
    return this._post<Endpoint>(name, 'start', {});
  }

  stopEndpoint(name: string): Promise<Endpoint> {
    return this._post<Endpoint>(name, 'stop', {});
  }

  restartEndpoint(name: string): Promise<Endpoint> {
    return this._post<Endpoint>(name, 'restart', {});
  }

  rollbackEndpoint(name: string): Promise<Endpoint> {
    return this._post<Endpoint>(name, 'rollback', {});
  }

  promoteEndpoint(name: string, version?: number | null): Promise<Endpoint> {
    return this._post<Endpoint>(
      name,
      'promote',
      version === undefined || version === null ? {} : { version }
    );
  }

  splitTraffic(name: string, request: TrafficRequest): Promise<Endpoint> {
    return this._post<Endpoint>(name, 'traffic', request);
  }

  getMetrics(name: string): Promise<EndpointMetrics> {
    return this.api.requestJSON<EndpointMetrics>(
      this.api.url('endpoints', name, 'metrics')
    );
  }

  getDrift(name: string): Promise<DriftReport> {
    return this.api.requestJSON<DriftReport>(
      this.api.url('endpoints', name, 'drift')
    );
  }

  getSnippets(name: string): Promise<Snippets> {
    return this.api.requestJSON<Snippets>(
      this.api.url('endpoints', name, 'snippets')
    );
  }

  getToken(name: string): Promise<EndpointToken> {
    return this.api.requestJSON<EndpointToken>(
      this.api.url('endpoints', name, 'token')
    );
  }

  invoke(
    name: string,
    payload: { [key: string]: unknown }
  ): Promise<InvokeResult> {
    return this._post<InvokeResult>(name, 'invoke', { payload });
  }

  listModels(): Promise<ModelList> {
    return this.api.requestJSON<ModelList>(this.api.url('models'));
  }

  getModel(modelName: string): Promise<RegisteredModel> {
    return this.api.requestJSON<RegisteredModel>(
      this.api.url('models', modelName)
    );
  }

  getModelSettings(): Promise<ModelSettings> {
    return this.api.requestJSON<ModelSettings>(
      this.api.url('models', 'settings')
    );
  }

  private _post<T>(name: string, action: string, body: object): Promise<T> {
    return this.api.requestJSON<T>(this.api.url('endpoints', name, action), {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }
}
