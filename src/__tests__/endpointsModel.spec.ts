import { Notification } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { DataOpsApiError } from '../api';
import { EndpointsModel } from '../endpoints/model';
import { PublishSteps } from '../endpoints/steps';
import { driftMessage, notifyDriftCrossings } from '../endpoints/notify';
import { ENDPOINT_EVENT_SCHEMA_ID } from '../endpoints/types';
import { SNAPSHOT_EVENT_SCHEMA_ID } from '../snapshots/types';
import { IDriftCrossing } from '../tokens';
import {
  FakeEndpointsClient,
  makeDrift,
  makeEndpoint
} from './fakeEndpointsClient';

const trans = nullTranslator.load('jupyter-dataops');

const flush = (ms = 10) => new Promise(resolve => setTimeout(resolve, ms));

function endpointEvent(data: object) {
  return { schema_id: ENDPOINT_EVENT_SCHEMA_ID, ...data } as any;
}

function setup() {
  const client = new FakeEndpointsClient();
  client.endpoints = [
    makeEndpoint({ name: 'iris' }),
    makeEndpoint({
      name: 'churn',
      model_name: 'churn',
      status: 'stopped',
      desired: 'stopped',
      drift_score: null
    })
  ];
  const model = new EndpointsModel({
    client,
    poll: false,
    refreshDelay: 0,
    metricsInterval: 20
  });
  const crossings: IDriftCrossing[] = [];
  model.driftCrossed.connect((_, crossing) => crossings.push(crossing));
  return { client, model, crossings };
}

describe('EndpointsModel', () => {
  it('lists the catalogue by name, with counts by status', async () => {
    const { client, model } = setup();
    await model.refresh();
    expect(model.collection.items.map(item => item.name)).toEqual([
      'iris',
      'churn'
    ]);
    expect(model.collection.counts).toEqual({ running: 1, stopped: 1 });
    expect(model.getEndpoint('churn')!.status).toBe('stopped');
    expect(client.lists).toBe(1);
    model.dispose();
  });

  it('follows endpoint events, then asks for the catalogue again', async () => {
    const { client, model } = setup();
    await model.refresh();
    client.set({ ...client.find('iris'), status: 'starting', version: 4 });
    model.handleEvent(
      endpointEvent({
        action: 'updated',
        id: 'iris',
        seq: 5,
        status: 'starting',
        version: 4
      })
    );
    // At once, from the event.
    expect(model.getEndpoint('iris')!.status).toBe('starting');
    expect(model.getEndpoint('iris')!.version).toBe(4);
    expect(model.collection.counts).toMatchObject({
      running: 0,
      starting: 1,
      stopped: 1
    });
    await flush(20);
    expect(client.lists).toBe(2);
    // Events of other collections are not its own.
    model.handleEvent({
      schema_id: SNAPSHOT_EVENT_SCHEMA_ID,
      action: 'updated',
      id: 'iris',
      seq: 6,
      status: 'failed'
    } as any);
    expect(model.getEndpoint('iris')!.status).toBe('starting');
    model.dispose();
  });

  it('shows an endpoint published elsewhere as soon as its event comes', async () => {
    const { client, model } = setup();
    await model.refresh();
    client.endpoints = [
      ...client.endpoints,
      makeEndpoint({ name: 'fraud', status: 'starting' })
    ];
    model.handleEvent(
      endpointEvent({
        action: 'created',
        id: 'fraud',
        seq: 7,
        status: 'starting'
      })
    );
    await flush(20);
    expect(model.getEndpoint('fraud')!.status).toBe('starting');
    expect(model.collection.items.map(item => item.name)).toContain('fraud');
    model.dispose();
  });

  it('forgets a deleted endpoint', async () => {
    const { client, model } = setup();
    await model.refresh();
    client.endpoints = client.endpoints.filter(item => item.name !== 'churn');
    model.handleEvent(
      endpointEvent({ action: 'deleted', id: 'churn', seq: 8 })
    );
    expect(model.getEndpoint('churn')).toBeUndefined();
    expect(model.collection.items.map(item => item.name)).toEqual(['iris']);
    model.dispose();
  });

  it('shows the answer of an action at once', async () => {
    const { client, model } = setup();
    await model.refresh();
    await model.stopEndpoint('iris');
    expect(model.getEndpoint('iris')!.status).toBe('stopped');
    await model.splitTraffic('iris', { canary_version: 4, percent: 10 });
    expect(model.getEndpoint('iris')).toMatchObject({
      canary_version: 4,
      canary_percent: 10
    });
    await model.promoteEndpoint('iris');
    expect(model.getEndpoint('iris')).toMatchObject({
      version: 4,
      canary_version: null
    });
    await model.rollbackEndpoint('iris');
    expect(model.getEndpoint('iris')!.version).toBe(3);
    await model.deleteEndpoint('churn');
    expect(model.getEndpoint('churn')).toBeUndefined();
    expect(client.calls.map(call => call[0])).toEqual([
      'stop',
      'traffic',
      'promote',
      'rollback',
      'delete'
    ]);
    model.dispose();
  });

  it('passes a refused action on, changing nothing', async () => {
    const { client, model } = setup();
    await model.refresh();
    client.fail = new DataOpsApiError({
      kind: 'conflict',
      status: 409,
      message: 'Nothing to roll back to.'
    });
    await expect(model.rollbackEndpoint('iris')).rejects.toMatchObject({
      kind: 'conflict'
    });
    expect(model.getEndpoint('iris')!.version).toBe(3);
    model.dispose();
  });

  it('forgets an endpoint that no longer exists when fetched', async () => {
    const { client, model } = setup();
    await model.refresh();
    client.endpoints = client.endpoints.filter(item => item.name !== 'iris');
    expect(await model.fetchEndpoint('iris')).toBeNull();
    expect(model.getEndpoint('iris')).toBeUndefined();
    model.dispose();
  });

  it('records a publication from a kernel', async () => {
    const { model } = setup();
    await model.refresh();
    model.recordPublication({
      endpoint: makeEndpoint({ name: 'fresh' }),
      version: {} as any,
      seconds: 3,
      published: true,
      reason: null
    });
    expect(model.getEndpoint('fresh')!.status).toBe('running');
    model.dispose();
  });

  it('keeps the traffic of answering endpoints fresh while watched', async () => {
    const { client, model } = setup();
    await model.refresh();
    const changed: string[] = [];
    model.metricsChanged.connect((_, name) => changed.push(name));
    const watch = model.watchMetrics();
    await flush(5);
    // Only the running one: a stopped endpoint has no traffic.
    expect(client.metricsReads).toEqual(['iris']);
    expect(model.getMetrics('iris')!.points.length).toBeGreaterThan(0);
    await flush(30);
    expect(client.metricsReads.length).toBeGreaterThan(1);
    watch.dispose();
    const reads = client.metricsReads.length;
    await flush(50);
    expect(client.metricsReads.length).toBe(reads);
    expect(changed[0]).toBe('iris');
    model.dispose();
  });

  describe('drift', () => {
    it('tells a crossing once, until the drift falls back under', async () => {
      const { client, model, crossings } = setup();
      await model.refresh();
      expect(crossings).toEqual([]);
      // Over the threshold: told once, however many events say so.
      for (const seq of [10, 11, 12]) {
        model.handleEvent(
          endpointEvent({
            action: 'updated',
            id: 'iris',
            seq,
            status: 'running',
            version: 3,
            drifted: true
          })
        );
      }
      expect(crossings).toEqual([
        { name: 'iris', score: null, threshold: null }
      ]);
      // (The score known, 0.04, is older than the event: not the crossing's.)
      // The catalogue then brings the new score: no second warning.
      client.set({ ...client.find('iris'), drift_score: 0.35 });
      await model.refresh();
      expect(crossings).toHaveLength(1);
      // Back under, then over again: a new crossing.
      model.handleEvent(
        endpointEvent({
          action: 'updated',
          id: 'iris',
          seq: 20,
          drifted: false
        })
      );
      model.handleEvent(
        endpointEvent({ action: 'updated', id: 'iris', seq: 21, drifted: true })
      );
      expect(crossings).toHaveLength(2);
      model.dispose();
    });

    it('tells a crossing a newer score shows, not one found on the first page', async () => {
      const { client, model, crossings } = setup();
      client.set({ ...client.find('churn'), drift_score: 0.9 });
      await model.refresh();
      // Already drifted when first seen: the badge shows it, no warning.
      expect(crossings).toEqual([]);
      client.set({
        ...client.find('iris'),
        drift_score: 0.5,
        drift_checked_at: 1700001000
      });
      await model.refresh();
      expect(crossings).toEqual([{ name: 'iris', score: 0.5, threshold: 0.2 }]);
      model.dispose();
    });

    it('tells a crossing a drift report shows', async () => {
      const { client, model, crossings } = setup();
      await model.refresh();
      client.drift = makeDrift({ drifted: true, score: 0.31 });
      await model.fetchDrift('iris');
      await model.fetchDrift('iris');
      expect(crossings).toEqual([
        { name: 'iris', score: 0.31, threshold: 0.2 }
      ]);
      model.dispose();
    });

    it('warns with the score and a button that opens the endpoint', async () => {
      const { client, model } = setup();
      await model.refresh();
      client.set({ ...client.find('iris'), drift_score: 0.35 });
      const commands = new CommandRegistry();
      const opened: any[] = [];
      commands.addCommand('dataops:open-endpoints', {
        execute: args => {
          opened.push(args);
        }
      });
      const warning = jest
        .spyOn(Notification, 'warning')
        .mockImplementation(() => 'id');
      const notifying = notifyDriftCrossings(model, commands, trans);
      model.handleEvent(
        endpointEvent({ action: 'updated', id: 'iris', seq: 30, drifted: true })
      );
      model.handleEvent(
        endpointEvent({ action: 'updated', id: 'iris', seq: 31, drifted: true })
      );
      // The endpoint is asked for its score first.
      await flush(10);
      expect(client.gets).toEqual(['iris']);
      expect(warning).toHaveBeenCalledTimes(1);
      const [message, options] = warning.mock.calls[0];
      expect(message).toBe(
        'Endpoint iris: requests drifted from the reference data (score 0.35, over the threshold 0.2).'
      );
      (options!.actions![0] as any).callback(new Event('click'));
      expect(opened).toEqual([{ select: 'iris' }]);
      notifying.dispose();
      warning.mockRestore();
      model.dispose();
    });

    it('words a crossing without a score', () => {
      expect(
        driftMessage({ name: 'x', score: null, threshold: null }, trans)
      ).toBe(
        'Endpoint x: requests drifted from the reference data, over its threshold.'
      );
    });
  });

  it('tells a publish’s steps: the kernel’s phases, then the endpoint’s events', async () => {
    const { client, model } = setup();
    await model.refresh();
    const seen: [number, string | null][] = [];
    const steps = new PublishSteps(
      model,
      'fresh',
      progress => seen.push([progress.step, progress.phase]),
      trans
    );
    const kernel = (step: number, phase: string) =>
      steps.kernel({ step, phase, error: null, log: [] });
    // Events of the endpoint before its version is registered are not the publish's.
    client.endpoints = [
      ...client.endpoints,
      makeEndpoint({ name: 'fresh', status: 'starting' })
    ];
    model.handleEvent(
      endpointEvent({
        action: 'created',
        id: 'fresh',
        seq: 40,
        status: 'starting'
      })
    );
    await flush(20);
    kernel(1, 'logging the model to MLflow');
    kernel(2, 'registering a new version of fresh and serving it');
    client.set({ ...client.find('fresh'), status: 'running' });
    model.handleEvent(
      endpointEvent({
        action: 'updated',
        id: 'fresh',
        seq: 41,
        status: 'running'
      })
    );
    // A later phase the kernel does not number keeps the step.
    kernel(0, 'done');
    expect(seen).toEqual([
      [1, 'logging the model to MLflow'],
      [2, 'registering a new version of fresh and serving it'],
      [4, 'waiting for the first answer'],
      [4, 'waiting for the first answer']
    ]);
    steps.dispose();
    model.dispose();
  });
});
