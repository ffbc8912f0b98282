import { DataOpsApiError } from '../api';
import { EndpointsClient } from '../endpoints/client';
import { makeEndpoint, makeModel } from './fakeEndpointsClient';
import { fakeClient, ICall, json } from './http';

function setup(answer: (call: ICall) => Response) {
  const { api, calls } = fakeClient(answer);
  return { client: new EndpointsClient(api), calls };
}

const BASE = 'http://localhost:8888/lab-base/dataops/api';

describe('EndpointsClient', () => {
  it('lists the catalogue without query arguments', async () => {
    const endpoint = makeEndpoint();
    const { client, calls } = setup(() =>
      json({ items: [endpoint], total: 1 })
    );
    const page = await client.listEndpoints();
    expect(page.items).toEqual([endpoint]);
    expect(calls[0]).toMatchObject({ url: `${BASE}/endpoints`, method: 'GET' });
  });

  it('reads one endpoint, its metrics, drift, snippets and token by name', async () => {
    const { client, calls } = setup(() => json({}));
    await client.getEndpoint('churn-v2');
    await client.getMetrics('churn-v2');
    await client.getDrift('churn-v2');
    await client.getSnippets('churn-v2');
    await client.getToken('churn-v2');
    expect(calls.map(call => [call.method, call.url])).toEqual([
      ['GET', `${BASE}/endpoints/churn-v2`],
      ['GET', `${BASE}/endpoints/churn-v2/metrics`],
      ['GET', `${BASE}/endpoints/churn-v2/drift`],
      ['GET', `${BASE}/endpoints/churn-v2/snippets`],
      ['GET', `${BASE}/endpoints/churn-v2/token`]
    ]);
  });

  it('posts the actions with their bodies', async () => {
    const { client, calls } = setup(() => json(makeEndpoint()));
    await client.startEndpoint('iris');
    await client.stopEndpoint('iris');
    await client.restartEndpoint('iris');
    await client.rollbackEndpoint('iris');
    await client.promoteEndpoint('iris');
    await client.promoteEndpoint('iris', 4);
    await client.splitTraffic('iris', { canary_version: 4, percent: 10 });
    expect(
      calls.map(call => [call.method, call.url, JSON.parse(call.body!)])
    ).toEqual([
      ['POST', `${BASE}/endpoints/iris/start`, {}],
      ['POST', `${BASE}/endpoints/iris/stop`, {}],
      ['POST', `${BASE}/endpoints/iris/restart`, {}],
      ['POST', `${BASE}/endpoints/iris/rollback`, {}],
      // No version: the server promotes the canary.
      ['POST', `${BASE}/endpoints/iris/promote`, {}],
      ['POST', `${BASE}/endpoints/iris/promote`, { version: 4 }],
      [
        'POST',
        `${BASE}/endpoints/iris/traffic`,
        { canary_version: 4, percent: 10 }
      ]
    ]);
  });

  it('sends a try-it payload wrapped as the API wants it', async () => {
    const { client, calls } = setup(() =>
      json({
        status: 200,
        body: { predictions: [1] },
        version: '3',
        seconds: 0.01
      })
    );
    const payload = { dataframe_split: { columns: ['a'], data: [[1]] } };
    const result = await client.invoke('iris', payload);
    expect(result.version).toBe('3');
    expect(calls[0].url).toBe(`${BASE}/endpoints/iris/invoke`);
    expect(JSON.parse(calls[0].body!)).toEqual({ payload });
  });

  it('publishes with the request as the body, and deletes', async () => {
    const { client, calls } = setup(call =>
      call.method === 'DELETE'
        ? new Response(null, { status: 204 })
        : json({ endpoint: makeEndpoint(), version: {}, seconds: 2 }, 201)
    );
    const publication = await client.publish({
      model_uri: 'runs:/abc/model',
      name: 'iris',
      canary_percent: 10
    });
    expect(publication.seconds).toBe(2);
    expect(calls[0]).toMatchObject({
      method: 'POST',
      url: `${BASE}/endpoints`
    });
    expect(JSON.parse(calls[0].body!)).toEqual({
      model_uri: 'runs:/abc/model',
      name: 'iris',
      canary_percent: 10
    });
    await client.deleteEndpoint('iris');
    expect(calls[1]).toMatchObject({
      method: 'DELETE',
      url: `${BASE}/endpoints/iris`
    });
  });

  it('reads the registry: every model, one model (its name encoded)', async () => {
    const { client, calls } = setup(() => json(makeModel()));
    await client.listModels();
    await client.getModel('churn model/2');
    expect(calls.map(call => call.url)).toEqual([
      `${BASE}/models`,
      `${BASE}/models/churn%20model%2F2`
    ]);
  });

  it('reads the model settings, with where endpoints are served', async () => {
    const { client, calls } = setup(() =>
      json({
        tracking_uri: 'http://mlflow:5000',
        experiment: 'dataops',
        artifact_location: null,
        target: 'kubernetes'
      })
    );
    const settings = await client.getModelSettings();
    expect(settings.target).toBe('kubernetes');
    expect(calls.map(call => [call.method, call.url])).toEqual([
      ['GET', `${BASE}/models/settings`]
    ]);
  });

  it('passes the server’s errors on with their message and hint', async () => {
    const { client } = setup(() =>
      json(
        {
          error: 'conflict',
          message: 'Endpoint iris has no version to roll back to.',
          hint: 'Publish another version first.',
          details: {}
        },
        409
      )
    );
    const failure = client.rollbackEndpoint('iris');
    await expect(failure).rejects.toBeInstanceOf(DataOpsApiError);
    await expect(failure).rejects.toMatchObject({
      kind: 'conflict',
      status: 409,
      hint: 'Publish another version first.'
    });
  });
});
