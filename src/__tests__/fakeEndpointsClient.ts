/**
 * An endpoint server in memory for the endpoint model and view tests.
 */
import { DataOpsApiError } from '../api';
import { IEndpointsClient } from '../endpoints/client';
import {
  DriftReport,
  Endpoint,
  EndpointMetrics,
  EndpointPage,
  EndpointToken,
  InvokeResult,
  MetricPoint,
  ModelList,
  ModelSettings,
  ModelVersion,
  Publication,
  PublishRequest,
  RegisteredModel,
  Snippets,
  TrafficRequest
} from '../endpoints/types';

export function makeEndpoint(overrides: Partial<Endpoint> = {}): Endpoint {
  const name = overrides.name ?? 'iris';
  return {
    name,
    model_name: name,
    version: 3,
    alias: 'production',
    model_uri: `models:/${name}@production`,
    canary_version: null,
    canary_percent: 0,
    status: 'running',
    desired: 'running',
    target: 'local',
    host: '127.0.0.1',
    port: 5001,
    url: 'http://127.0.0.1:5001/invocations',
    token_required: false,
    pid: 4242,
    error: null,
    restarts: 0,
    history: [
      {
        at: 1700000000,
        action: 'published',
        version: 1,
        actor: 'alice',
        detail: null
      },
      {
        at: 1700000600,
        action: 'published',
        version: 3,
        actor: 'alice',
        detail: 'from train.ipynb'
      }
    ],
    drift_threshold: 0.2,
    drift_score: 0.04,
    drift_checked_at: 1700000900,
    run_id: 'run0123456789abcdef',
    job_id: null,
    snapshot_id: null,
    owner: 'alice',
    created_at: 1700000000,
    updated_at: 1700000600,
    started_at: 1700000600,
    ...overrides
  };
}

export function makeVersion(
  overrides: Partial<ModelVersion> = {}
): ModelVersion {
  const version = overrides.version ?? 3;
  return {
    name: 'iris',
    version,
    run_id: `run${version}`,
    source: `runs:/run${version}/model`,
    model_uri: `models:/iris/${version}`,
    aliases: [],
    flavors: ['python_function', 'sklearn'],
    signature: null,
    created_at: 1700000000 + version * 100,
    description: null,
    tags: {},
    params: { max_iter: '200' },
    metrics: { accuracy: 0.97 },
    job_id: null,
    snapshot_id: null,
    run_url: `http://mlflow.example/#/runs/run${version}`,
    ...overrides
  };
}

export function makeModel(
  overrides: Partial<RegisteredModel> = {}
): RegisteredModel {
  return {
    name: 'iris',
    description: null,
    aliases: { production: 3 },
    latest_version: 4,
    updated_at: 1700000700,
    versions: [
      makeVersion({ version: 4 }),
      makeVersion({ version: 3, aliases: ['production'] }),
      makeVersion({ version: 2, run_url: null }),
      makeVersion({ version: 1 })
    ],
    ...overrides
  };
}

/** An hour of metrics ending at `end`: traffic in the last `busy` intervals. */
export function makeMetrics(
  name = 'iris',
  end = 1700003600,
  busy = 12
): EndpointMetrics {
  const points: MetricPoint[] = [];
  for (let index = busy - 1; index >= 0; index--) {
    points.push({
      t: end - index * 10,
      requests: 20,
      rate: 2,
      error_rate: index === 0 ? 0.1 : 0,
      server_errors: 0,
      p50_ms: 4,
      p99_ms: 12 + index,
      by_version: { '3': 18, '4': 2 }
    });
  }
  return { name, bucket_seconds: 10, points, available: true };
}

export function makeDrift(overrides: Partial<DriftReport> = {}): DriftReport {
  return {
    name: 'iris',
    score: 0.31,
    threshold: 0.2,
    drifted: true,
    columns: [
      { name: 'sepal length (cm)', kind: 'numeric', score: 0.05 },
      { name: 'petal width (cm)', kind: 'numeric', score: 0.31 }
    ],
    sample_rows: 500,
    reference_rows: 150,
    message: 'petal width (cm) moved the most.',
    ...overrides
  };
}

export function makeSnippets(): Snippets {
  return {
    curl: "curl -X POST http://127.0.0.1:5001/invocations -H 'Content-Type: application/json' -d '{...}'",
    python:
      "import requests\nrequests.post('http://127.0.0.1:5001/invocations', json={...})",
    example: {
      dataframe_split: {
        columns: ['sepal length (cm)', 'petal width (cm)'],
        data: [[5.1, 0.2]]
      }
    }
  };
}

export function makeModelSettings(
  overrides: Partial<ModelSettings> = {}
): ModelSettings {
  const target = overrides.target ?? 'local';
  return {
    tracking_uri: 'sqlite:///mlflow.db',
    experiment: 'dataops',
    artifact_location: null,
    target,
    targets: [target],
    ...overrides
  };
}

/** An endpoint server in memory: every change gets a seq. */
export class FakeEndpointsClient implements IEndpointsClient {
  endpoints: Endpoint[] = [];
  model: RegisteredModel = makeModel();
  drift: DriftReport = makeDrift({ drifted: false, score: 0.04 });
  metrics = new Map<string, EndpointMetrics>();
  lists = 0;
  gets: string[] = [];
  calls: [string, string, unknown][] = [];
  metricsReads: string[] = [];
  invokes: [string, unknown][] = [];
  modelReads: string[] = [];
  /** What `getModelSettings` answers (`target`: where endpoints are served). */
  settings: ModelSettings = makeModelSettings();
  settingsReads = 0;
  /** Answers `invoke` when set. */
  answer: InvokeResult = {
    status: 200,
    body: { predictions: [0] },
    version: '3',
    seconds: 0.012
  };
  /** Makes the next change fail with this error. */
  fail: DataOpsApiError | null = null;

  async listEndpoints(): Promise<EndpointPage> {
    this.lists++;
    return { items: [...this.endpoints], total: this.endpoints.length };
  }

  async getEndpoint(name: string): Promise<Endpoint> {
    this.gets.push(name);
    return this.find(name);
  }

  async publish(request: PublishRequest): Promise<Publication> {
    this.calls.push(['publish', request.name, request]);
    const endpoint = makeEndpoint({ name: request.name });
    this.endpoints = [...this.endpoints, endpoint];
    return {
      endpoint,
      version: makeVersion(),
      seconds: 3.2,
      published: true,
      reason: null
    };
  }

  async deleteEndpoint(name: string): Promise<void> {
    this.calls.push(['delete', name, null]);
    this.check();
    this.find(name);
    this.endpoints = this.endpoints.filter(item => item.name !== name);
  }

  startEndpoint(name: string): Promise<Endpoint> {
    return this.change('start', name, null, {
      status: 'starting',
      desired: 'running'
    });
  }

  stopEndpoint(name: string): Promise<Endpoint> {
    return this.change('stop', name, null, {
      status: 'stopped',
      desired: 'stopped'
    });
  }

  restartEndpoint(name: string): Promise<Endpoint> {
    return this.change('restart', name, null, { status: 'starting' });
  }

  rollbackEndpoint(name: string): Promise<Endpoint> {
    return this.change('rollback', name, null, {
      version: this.find(name).version - 1
    });
  }

  promoteEndpoint(name: string, version?: number | null): Promise<Endpoint> {
    const current = this.find(name);
    return this.change('promote', name, version ?? null, {
      version: version ?? current.canary_version ?? current.version,
      canary_version: null,
      canary_percent: 0
    });
  }

  splitTraffic(name: string, request: TrafficRequest): Promise<Endpoint> {
    return this.change('traffic', name, request, {
      canary_version:
        request.percent > 0 ? (request.canary_version ?? null) : null,
      canary_percent: request.percent
    });
  }

  async getMetrics(name: string): Promise<EndpointMetrics> {
    this.metricsReads.push(name);
    return this.metrics.get(name) ?? makeMetrics(name);
  }

  async getDrift(name: string): Promise<DriftReport> {
    this.find(name);
    return { ...this.drift, name };
  }

  async getSnippets(name: string): Promise<Snippets> {
    this.find(name);
    return makeSnippets();
  }

  async getToken(name: string): Promise<EndpointToken> {
    return { name, token: null };
  }

  async invoke(
    name: string,
    payload: { [key: string]: unknown }
  ): Promise<InvokeResult> {
    this.invokes.push([name, payload]);
    return this.answer;
  }

  async listModels(): Promise<ModelList> {
    return {
      items: [this.model],
      tracking_uri: 'sqlite:///mlflow.db',
      ui_url: null
    };
  }

  async getModel(modelName: string): Promise<RegisteredModel> {
    this.modelReads.push(modelName);
    return this.model;
  }

  async getModelSettings(): Promise<ModelSettings> {
    this.settingsReads++;
    return { ...this.settings };
  }

  find(name: string): Endpoint {
    const endpoint = this.endpoints.find(item => item.name === name);
    if (!endpoint) {
      throw new DataOpsApiError({
        kind: 'not_found',
        status: 404,
        message: `No endpoint named '${name}'.`,
        hint: 'See the catalogue: GET /dataops/api/endpoints'
      });
    }
    return endpoint;
  }

  /** Change an endpoint; returns it. */
  set(endpoint: Endpoint): Endpoint {
    this.endpoints = this.endpoints.map(item =>
      item.name === endpoint.name ? endpoint : item
    );
    return endpoint;
  }

  private check(): void {
    if (this.fail) {
      const error = this.fail;
      this.fail = null;
      throw error;
    }
  }

  private async change(
    action: string,
    name: string,
    body: unknown,
    changes: Partial<Endpoint>
  ): Promise<Endpoint> {
    this.calls.push([action, name, body]);
    this.check();
    return this.set({ ...this.find(name), ...changes });
  }
}
