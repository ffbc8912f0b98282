import { nullTranslator } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { PromiseDelegate } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import {
  chosenServeTarget,
  initialPublishInput,
  IPublishPanelProps,
  isLoopbackHost,
  clusterTarget,
  offerOf,
  publishChoice,
  PublishPanel,
  serveOffer,
  servesOnCluster,
  serveTargetOf
} from '../endpoints/dialogs';
import { publishMagicLine } from '../endpoints/kernel';
import {
  ICandidates,
  IPublishChoice,
  IPublishProgress,
  PublishError
} from '../endpoints/kernel';
import { EndpointsModel } from '../endpoints/model';
import { catalogueOrder, EndpointsSection } from '../endpoints/section';
import { ModelSettings, Publication } from '../endpoints/types';
import {
  FakeEndpointsClient,
  makeDrift,
  makeEndpoint,
  makeMetrics,
  makeModelSettings,
  makeSnippets,
  makeVersion
} from './fakeEndpointsClient';

const trans = nullTranslator.load('jupyter-dataops');

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) {
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  expect(check()).toBe(true);
}

function type(node: Element | null, value: string): void {
  const input = node as HTMLInputElement;
  const proto = Object.getPrototypeOf(input);
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(input, value);
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

function select(node: Element | null, value: string): void {
  const element = node as HTMLSelectElement;
  const proto = Object.getPrototypeOf(element);
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(element, value);
  element.dispatchEvent(new Event('change', { bubbles: true }));
}

function click(node: Element | null): void {
  (node as HTMLElement).click();
}

/** Render a React element in an attached widget, and wait for it. */
async function render(element: JSX.Element): Promise<Widget> {
  const widget = ReactWidget.create(element);
  Widget.attach(widget, document.body);
  widget.update();
  await until(() => widget.node.childElementCount > 0);
  return widget;
}

describe('EndpointsSection', () => {
  let section: EndpointsSection;
  let model: EndpointsModel;
  let client: FakeEndpointsClient;
  let commands: CommandRegistry;
  const executed: [string, any][] = [];

  beforeEach(async () => {
    executed.length = 0;
    client = new FakeEndpointsClient();
    client.endpoints = [
      makeEndpoint({
        name: 'iris',
        canary_version: 4,
        canary_percent: 10,
        drift_score: 0.04
      }),
      makeEndpoint({
        name: 'churn',
        model_name: 'churn',
        status: 'failed',
        error: 'The model could not be loaded: No module named xgboost',
        url: 'http://127.0.0.1:5002/invocations',
        drift_score: null
      }),
      makeEndpoint({
        name: 'fraud',
        model_name: 'fraud',
        status: 'running',
        drift_score: 0.6,
        url: 'http://127.0.0.1:5003/invocations'
      }),
      makeEndpoint({
        name: 'old',
        status: 'stopped',
        desired: 'stopped',
        drift_score: null
      })
    ];
    client.metrics.set(
      'iris',
      makeMetrics('iris', Math.floor(Date.now() / 1000), 30)
    );
    client.drift = makeDrift();
    model = new EndpointsModel({ client, poll: false, refreshDelay: 0 });
    commands = new CommandRegistry();
    for (const id of [
      'dataops:start-endpoint',
      'dataops:stop-endpoint',
      'dataops:restart-endpoint',
      'dataops:rollback-endpoint',
      'dataops:promote-endpoint',
      'dataops:split-endpoint-traffic',
      'dataops:delete-endpoint',
      'dataops:publish-model'
    ]) {
      commands.addCommand(id, {
        execute: args => {
          executed.push([id, args]);
          return true;
        }
      });
    }
    section = new EndpointsSection({ model, commands, trans });
    Widget.attach(section, document.body);
    await model.refresh();
    section.update();
    await until(
      () => section.node.querySelectorAll('.jp-DataOps-endpoint').length === 4
    );
  });

  afterEach(() => {
    section.dispose();
    model.dispose();
  });

  const row = (name: string) =>
    section.node.querySelector(`.jp-DataOps-endpoint[data-name="${name}"]`)!;

  it('lists failed endpoints first, then drifted ones, then by name', () => {
    const names = [
      ...section.node.querySelectorAll('.jp-DataOps-endpoint')
    ].map(node => node.getAttribute('data-name'));
    expect(names).toEqual(['churn', 'fraud', 'iris', 'old']);
    expect(catalogueOrder([]).length).toBe(0);
  });

  it('counts endpoints by status, and the drifted ones', () => {
    const chips = [
      ...section.node.querySelectorAll(
        '.jp-DataOps-endpointCounts .jp-DataOps-countChip'
      )
    ].map(node => node.textContent);
    expect(chips).toEqual(['2 running', '1 failed', '1 stopped', '1 drifted']);
  });

  it('shows each row’s status, version split, URL, traffic and drift', async () => {
    const iris = row('iris');
    expect(iris.querySelector('.jp-DataOps-statusBadge')!.textContent).toBe(
      'Running'
    );
    expect(iris.querySelector('.jp-DataOps-modelName')!.textContent).toBe(
      'iris'
    );
    expect(
      [...iris.querySelectorAll('.jp-DataOps-versionTag')].map(
        n => n.textContent
      )
    ).toEqual(['v3', 'v4 · 10 %']);
    expect(
      iris.querySelector('.jp-DataOps-endpointUrl code')!.textContent
    ).toBe('http://127.0.0.1:5001/invocations');
    expect(iris.querySelector('.jp-DataOps-copyButton')).not.toBeNull();
    expect(iris.querySelector('.jp-DataOps-driftBadge')!.textContent).toBe(
      'drift 0.04'
    );
    // Traffic comes with the metrics the section watches.
    await until(() => !!iris.querySelector('[data-stat="rate"]'));
    expect(iris.querySelector('[data-stat="rate"]')!.textContent).toBe('2/s');
    expect(iris.querySelector('[data-stat="latency"]')!.textContent).toBe(
      '4.0 ms/12 ms'.replace('4.0', '4')
    );
    expect(iris.querySelector('.jp-DataOps-rateSpark')).not.toBeNull();
    // Drifted: a red badge.
    expect(
      row('fraud').querySelector('.jp-DataOps-driftBadge.jp-mod-drifted')!
        .textContent
    ).toBe('drift 0.6');
    // Failed: why, instead of traffic.
    expect(
      row('churn').querySelector('.jp-DataOps-jobErrorLine')!.textContent
    ).toMatch(/xgboost/);
    expect(
      row('old').querySelector('.jp-DataOps-trafficLine')!.textContent
    ).toBe('Not serving');
    // No traffic asked for endpoints that do not answer.
    expect(client.metricsReads).not.toContain('old');
    expect(client.metricsReads).not.toContain('churn');
  });

  it('opens a detail with the chart, drift bars, snippets and history', async () => {
    click(row('iris').querySelector('.jp-DataOps-endpointSummary'));
    await until(
      () => !!row('iris').querySelector('.jp-DataOps-endpointDetail')
    );
    const detail = row('iris').querySelector('.jp-DataOps-endpointDetail')!;
    await until(
      () => detail.querySelectorAll('.jp-DataOps-chartRow').length === 3
    );
    expect(
      [...detail.querySelectorAll('.jp-DataOps-chartRow')].map(node =>
        node.getAttribute('data-chart')
      )
    ).toEqual(['rate', 'latency', 'errors']);
    expect(
      detail.querySelector('.jp-DataOps-rateLine')!.getAttribute('d')
    ).toMatch(/^M0,100/);
    // Two versions answered: their shares.
    expect(detail.querySelector('.jp-DataOps-chartShares')!.textContent).toBe(
      'v3 90 % · v4 10 %'
    );
    await until(
      () => detail.querySelectorAll('.jp-DataOps-driftColumn').length === 2
    );
    const drift = detail.querySelector('.jp-DataOps-endpointDrift')!;
    expect(drift.getAttribute('data-drift')).toBe('drifted');
    expect(drift.querySelector('.jp-DataOps-driftScore')!.textContent).toBe(
      '0.31'
    );
    const columns = [...drift.querySelectorAll('.jp-DataOps-driftColumn')];
    // The most drifted column first, over the threshold marked.
    expect(columns[0].getAttribute('data-column')).toBe('petal width (cm)');
    expect(columns[0].classList.contains('jp-mod-drifted')).toBe(true);
    expect(columns[1].classList.contains('jp-mod-drifted')).toBe(false);
    await until(() => !!detail.querySelector('.jp-DataOps-snippetCode'));
    expect(
      detail.querySelector('.jp-DataOps-snippetCode')!.textContent
    ).toMatch(/^curl -X POST/);
    click(detail.querySelector('.jp-DataOps-snippetTab[data-tab="python"]'));
    await until(() =>
      /import requests/.test(
        detail.querySelector('.jp-DataOps-snippetCode')!.textContent!
      )
    );
    // The run of the version served, in MLflow.
    await until(() => !!detail.querySelector('.jp-DataOps-mlflowLink'));
    expect(
      detail
        .querySelector('.jp-DataOps-endpointServed .jp-DataOps-mlflowLink')!
        .getAttribute('href')
    ).toBe('http://mlflow.example/#/runs/run3');
    const history = [
      ...detail.querySelectorAll(
        '.jp-DataOps-timelineEntry .jp-DataOps-timelineAction'
      )
    ].map(node => node.textContent);
    expect(history).toEqual(['Publishedv3', 'Publishedv1']);
  });

  it('sends the example with “Try it” and shows the answer', async () => {
    click(row('iris').querySelector('.jp-DataOps-endpointSummary'));
    const detail = () =>
      row('iris').querySelector('.jp-DataOps-endpointDetail')!;
    await until(() => {
      const area = detail()?.querySelector('.jp-DataOps-tryItBody') as
        HTMLTextAreaElement | undefined;
      return !!area && area.value.includes('dataframe_split');
    });
    click(detail().querySelector('[data-action="send"]'));
    await until(() => !!detail().querySelector('.jp-DataOps-invokeResult'));
    expect(client.invokes).toEqual([['iris', makeSnippets().example]]);
    const result = detail().querySelector('.jp-DataOps-invokeResult')!;
    expect(result.querySelector('.jp-DataOps-httpStatus')!.textContent).toBe(
      '200'
    );
    expect(result.querySelector('.jp-DataOps-versionTag')!.textContent).toBe(
      'v3'
    );
    expect(result.querySelector('.jp-DataOps-invokeTime')!.textContent).toBe(
      '12 ms'
    );
    expect(
      result.querySelector('.jp-DataOps-invokeBody')!.textContent
    ).toContain('"predictions"');
    // Not JSON: said at once, and not sent.
    type(detail().querySelector('.jp-DataOps-tryItBody'), '{"inputs": ');
    await until(() => !!detail().querySelector('.jp-DataOps-fieldError'));
    expect(
      (detail().querySelector('[data-action="send"]') as HTMLButtonElement)
        .disabled
    ).toBe(true);
    // An error the endpoint answered shows as such.
    type(detail().querySelector('.jp-DataOps-tryItBody'), '{"inputs": [[1]]}');
    client.answer = {
      status: 400,
      body: { error_code: 'BAD_REQUEST', message: 'Expected 4 columns' },
      version: '4',
      seconds: 0.003
    };
    click(detail().querySelector('[data-action="send"]'));
    await until(
      () =>
        detail()
          .querySelector('.jp-DataOps-invokeResult')!
          .getAttribute('data-status') === '400'
    );
    expect(client.invokes[1]).toEqual(['iris', { inputs: [[1]] }]);
    expect(
      detail().querySelector('.jp-DataOps-invokeResult.jp-mod-error')
    ).not.toBeNull();
  });

  it('runs the actions as commands with the endpoint’s name', async () => {
    click(row('iris').querySelector('.jp-DataOps-endpointSummary'));
    const detail = () =>
      row('iris').querySelector('.jp-DataOps-endpointDetail')!;
    await until(() => !!detail());
    const actions = ['stop', 'restart', 'rollback', 'delete'];
    for (const [index, action] of actions.entries()) {
      click(detail().querySelector(`[data-action="${action}"]`));
      // The buttons wait for the command to finish.
      await new Promise(resolve => setTimeout(resolve, 30));
      await until(
        () =>
          executed.length === index + 1 &&
          !(
            detail().querySelector(
              `[data-action="${action}"]`
            ) as HTMLButtonElement
          ).disabled
      );
    }
    expect(executed).toEqual([
      ['dataops:stop-endpoint', { name: 'iris' }],
      ['dataops:restart-endpoint', { name: 'iris' }],
      ['dataops:rollback-endpoint', { name: 'iris' }],
      ['dataops:delete-endpoint', { name: 'iris' }]
    ]);
    // A stopped endpoint offers Start instead.
    click(row('old').querySelector('.jp-DataOps-endpointSummary'));
    await until(() => !!row('old').querySelector('[data-action="start"]'));
    expect(row('old').querySelector('[data-action="stop"]')).toBeNull();
  });

  it('promotes a version chosen among the registered model’s others', async () => {
    click(row('iris').querySelector('.jp-DataOps-endpointSummary'));
    const detail = () =>
      row('iris').querySelector('.jp-DataOps-endpointDetail')!;
    await until(() => !!detail());
    expect(detail().querySelector('[data-action="promote"]')!.textContent).toBe(
      'Promote canary…'
    );
    click(detail().querySelector('[data-action="promote"]'));
    await until(() => !!detail().querySelector('.jp-DataOps-promoteVersion'));
    const choice = detail().querySelector(
      '.jp-DataOps-promoteVersion'
    ) as HTMLSelectElement;
    // Not the version served; the canary chosen first.
    expect([...choice.options].map(option => option.value)).toEqual([
      '4',
      '2',
      '1'
    ]);
    expect(choice.value).toBe('4');
    expect(client.modelReads).toEqual(['iris']);
    // Its metrics and its run in MLflow.
    expect(
      detail()
        .querySelector('[data-panel="promote"] .jp-DataOps-mlflowLink')!
        .getAttribute('href')
    ).toBe('http://mlflow.example/#/runs/run4');
    select(choice, '2');
    await until(
      () =>
        detail().querySelector('[data-action="promote-apply"]')!.textContent ===
        'Serve v2 to all requests'
    );
    // v2 has no run URL.
    expect(
      detail().querySelector('[data-panel="promote"] .jp-DataOps-mlflowLink')
    ).toBeNull();
    click(detail().querySelector('[data-action="promote-apply"]'));
    await until(() => !detail().querySelector('[data-panel="promote"]'));
    expect(executed).toEqual([
      ['dataops:promote-endpoint', { name: 'iris', version: 2 }]
    ]);
  });

  it('splits traffic: a canary version and a share', async () => {
    click(row('iris').querySelector('.jp-DataOps-endpointSummary'));
    const detail = () =>
      row('iris').querySelector('.jp-DataOps-endpointDetail')!;
    await until(() => !!detail());
    click(detail().querySelector('[data-action="traffic"]'));
    await until(() => !!detail().querySelector('.jp-DataOps-percentInput'));
    expect(
      (detail().querySelector('.jp-DataOps-canaryVersion') as HTMLSelectElement)
        .value
    ).toBe('4');
    type(detail().querySelector('.jp-DataOps-percentInput'), '250');
    await until(
      () =>
        (detail().querySelector('.jp-DataOps-percentInput') as HTMLInputElement)
          .value === '99'
    );
    type(detail().querySelector('.jp-DataOps-percentInput'), '25');
    await until(() =>
      /v4 · 25 %/.test(
        detail().querySelector('.jp-DataOps-splitPreview')!.textContent!
      )
    );
    click(detail().querySelector('[data-action="traffic-apply"]'));
    await until(() => executed.length === 1);
    expect(executed[0]).toEqual([
      'dataops:split-endpoint-traffic',
      { name: 'iris', canary_version: 4, percent: 25 }
    ]);
  });

  it('shows an empty catalogue with what to do', async () => {
    client.endpoints = [];
    await model.refresh();
    section.update();
    await until(
      () => !!section.node.querySelector('.jp-DataOps-endpointsEmpty')
    );
    expect(section.node.textContent).toMatch(/Publish model/);
  });

  it('shows why the catalogue could not be read', async () => {
    client.listEndpoints = () =>
      Promise.reject(
        Object.assign(new Error('MLflow is not installed.'), {
          hint: 'pip install mlflow'
        })
      );
    await model.refresh();
    section.update();
    await until(() => !!section.node.querySelector('.jp-DataOps-alert-error'));
    expect(
      section.node.querySelector('.jp-DataOps-alert-error')!.textContent
    ).toMatch(/MLflow is not installed/);
  });
});

const CANDIDATES: ICandidates = {
  models: [
    {
      name: 'scaler',
      type: 'StandardScaler',
      flavor: 'sklearn',
      in_cell: false
    },
    {
      name: 'clf',
      type: 'LogisticRegression',
      flavor: 'sklearn',
      in_cell: true
    }
  ],
  examples: [
    { name: 'X', type: 'DataFrame', shape: [150, 4] },
    { name: 'y', type: 'Series', shape: [150] }
  ]
};

describe('the publish form', () => {
  it('starts from the cell’s model, its name, and the first example’s first rows', () => {
    const input = initialPublishInput(CANDIDATES);
    expect(input).toMatchObject({
      variable: 'clf',
      name: 'clf',
      example: 'X',
      slice: '[:5]',
      alias: 'production',
      canary: false,
      serve: 'loopback',
      serveEdited: false
    });
    expect(publishChoice(input, trans)).toEqual({
      choice: {
        variable: 'clf',
        name: 'clf',
        example: 'X[:5]',
        alias: 'production',
        host: '127.0.0.1',
        canary: null
      }
    });
  });

  it('refuses a bad name or alias, and bounds the canary share', () => {
    const input = initialPublishInput(CANDIDATES);
    expect(publishChoice({ ...input, name: 'My_Model' }, trans)).toEqual({
      error: 'Lower-case letters only.'
    });
    expect(publishChoice({ ...input, alias: '1st' }, trans)).toHaveProperty(
      'error'
    );
    expect(
      (publishChoice({ ...input, canary: true, percent: 150 }, trans) as any)
        .choice.canary
    ).toBe(99);
    expect(
      (publishChoice({ ...input, example: '\u0000none' }, trans) as any).choice
        .example
    ).toBeNull();
    expect(
      (
        publishChoice(
          { ...input, example: '\u0000other', expression: ' X_test.head() ' },
          trans
        ) as any
      ).choice.example
    ).toBe('X_test.head()');
  });
});

describe('where the publish form serves the model', () => {
  const line = (result: ReturnType<typeof publishChoice>) =>
    publishMagicLine((result as any).choice);

  it('knows loopback addresses as the server does', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      '::1',
      '[::1]'
    ]) {
      expect(isLoopbackHost(host)).toBe(true);
    }
    for (const host of ['0.0.0.0', '10.0.0.5', 'example.org', '::']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
    expect(serveTargetOf(undefined)).toBe('loopback');
    expect(serveTargetOf(makeEndpoint({ host: '127.0.0.1' }))).toBe('loopback');
    expect(serveTargetOf(makeEndpoint({ host: '0.0.0.0' }))).toBe('all');
    expect(serveTargetOf(makeEndpoint({ host: '10.0.0.5' }))).toBe('current');
  });

  it('sends --host 0.0.0.0 only for all interfaces', () => {
    const input = initialPublishInput(CANDIDATES);
    expect(line(publishChoice(input, trans))).toBe(
      "publish clf --name clf --example 'X[:5]' --alias production --host 127.0.0.1 --json"
    );
    expect(
      line(publishChoice({ ...input, serve: 'all', serveEdited: true }, trans))
    ).toBe(
      "publish clf --name clf --example 'X[:5]' --alias production --host 0.0.0.0 --json"
    );
    expect(
      line(
        publishChoice({ ...input, serve: 'loopback', serveEdited: true }, trans)
      )
    ).toMatch(/ --host 127\.0\.0\.1 --json$/);
    // The disabled Kubernetes choice never reaches the magic: loopback then.
    expect(
      line(
        publishChoice(
          { ...input, serve: 'kubernetes', serveEdited: true },
          trans
        )
      )
    ).toMatch(/ --host 127\.0\.0\.1 --json$/);
  });

  it('follows the existing endpoint’s address until the user picks', () => {
    const input = initialPublishInput(CANDIDATES);
    const open = makeEndpoint({ name: 'clf', host: '0.0.0.0' });
    const loopback = makeEndpoint({ name: 'clf' });
    const other = makeEndpoint({ name: 'clf', host: '10.0.0.5' });
    expect(chosenServeTarget(input, open)).toBe('all');
    expect(chosenServeTarget(input, loopback)).toBe('loopback');
    expect(chosenServeTarget(input, other)).toBe('current');
    expect(line(publishChoice(input, trans, open))).toMatch(
      / --host 0\.0\.0\.0 --json$/
    );
    // Kept where it is: no --host.
    expect(line(publishChoice(input, trans, other))).not.toMatch(/--host/);
    // Moved back to loopback: said so, the server keeps the address else.
    const back = { ...input, serve: 'loopback' as const, serveEdited: true };
    expect(line(publishChoice(back, trans, open))).toMatch(
      / --host 127\.0\.0\.1 --json$/
    );
    expect(line(publishChoice(back, trans, loopback))).not.toMatch(/--host/);
    // "As now" does not fit an endpoint on 0.0.0.0: its own address then.
    expect(
      chosenServeTarget({ ...input, serve: 'current', serveEdited: true }, open)
    ).toBe('all');
  });

  it('names the target when the server offers more than one', () => {
    const both = { target: 'local', targets: ['local', 'kubernetes'] };
    const input = initialPublishInput(CANDIDATES);
    // A new endpoint: the server's default (this machine), named.
    expect(chosenServeTarget(input, undefined, both)).toBe('loopback');
    expect(line(publishChoice(input, trans, undefined, both))).toMatch(
      / --host 127\.0\.0\.1 --on local --json$/
    );
    // The cluster picked: no address, the cluster named.
    const picked = {
      ...input,
      serve: 'kubernetes' as const,
      serveEdited: true
    };
    expect(chosenServeTarget(picked, undefined, both)).toBe('kubernetes');
    const onCluster = publishChoice(picked, trans, undefined, both);
    expect((onCluster as any).choice).not.toHaveProperty('host');
    expect(line(onCluster)).toMatch(/ --on kubernetes --json$/);
    // An endpoint on the cluster stays there unless the user picks otherwise.
    const there = makeEndpoint({ name: 'clf', target: 'kubernetes' });
    expect(chosenServeTarget(input, there, both)).toBe('kubernetes');
    const back = { ...input, serve: 'loopback' as const, serveEdited: true };
    expect(chosenServeTarget(back, there, both)).toBe('loopback');
    expect(line(publishChoice(back, trans, there, both))).toMatch(
      / --on local --json$/
    );
    // The cluster the default, this machine offered too: new ones go there.
    const clusterFirst = {
      target: 'kubernetes',
      targets: ['kubernetes', 'local']
    };
    expect(chosenServeTarget(input, undefined, clusterFirst)).toBe(
      'kubernetes'
    );
    expect(chosenServeTarget(back, undefined, clusterFirst)).toBe('loopback');
    // KServe is a cluster too; a name alone offers that target only.
    expect(servesOnCluster('kserve')).toBe(true);
    expect(
      clusterTarget({ target: 'local', targets: ['local', 'kserve'] })
    ).toBe('kserve');
    expect(serveOffer('kubernetes')).toEqual({
      target: 'kubernetes',
      targets: ['kubernetes']
    });
    expect(serveOffer(null)).toEqual({ target: 'local', targets: ['local'] });
    expect(
      offerOf(
        makeModelSettings({ target: 'local', targets: ['local', 'kserve'] })
      )
    ).toEqual({ target: 'local', targets: ['local', 'kserve'] });
    expect(offerOf(null)).toBeNull();
  });

  it('serves on the cluster, with no address, when the server’s endpoints run there', () => {
    expect(servesOnCluster('kubernetes')).toBe(true);
    for (const target of ['local', '', null, undefined]) {
      expect(servesOnCluster(target)).toBe(false);
    }
    const input = initialPublishInput(CANDIDATES);
    const open = makeEndpoint({ name: 'clf', host: '0.0.0.0' });
    const other = makeEndpoint({ name: 'clf', host: '10.0.0.5' });
    const picked = { ...input, serve: 'all' as const, serveEdited: true };
    for (const [choice, current] of [
      [input, undefined],
      [input, open],
      [input, other],
      [picked, undefined],
      [{ ...input, serve: 'loopback' as const, serveEdited: true }, open]
    ] as const) {
      expect(chosenServeTarget(choice, current, 'kubernetes')).toBe(
        'kubernetes'
      );
      const result = publishChoice(choice, trans, current, 'kubernetes');
      expect((result as any).choice).not.toHaveProperty('host');
      expect(line(result)).not.toMatch(/--host/);
    }
    expect(line(publishChoice(input, trans, undefined, 'kubernetes'))).toBe(
      "publish clf --name clf --example 'X[:5]' --alias production --json"
    );
    // A local server (or one not known yet): as before.
    expect(line(publishChoice(picked, trans, undefined, 'local'))).toMatch(
      / --host 0\.0\.0\.0 --json$/
    );
    expect(line(publishChoice(input, trans, undefined, null))).toMatch(
      / --host 127\.0\.0\.1 --json$/
    );
  });
});

describe('PublishPanel', () => {
  let widget: Widget;
  let published: IPublishChoice[];
  let pending: PromiseDelegate<Publication>;
  let report: (progress: IPublishProgress) => void;
  let shown: string[];
  let closed: number;

  async function open(
    overrides: Partial<IPublishPanelProps> = {},
    ready = '.jp-DataOps-publishForm'
  ) {
    published = [];
    shown = [];
    closed = 0;
    pending = new PromiseDelegate<Publication>();
    widget = await render(
      <PublishPanel
        trans={trans}
        notebook="train.ipynb"
        loadCandidates={async () => CANDIDATES}
        publish={(choice, onProgress) => {
          published.push(choice);
          report = onProgress;
          return pending.promise;
        }}
        existing={name =>
          name === 'iris' ? makeEndpoint({ name: 'iris' }) : undefined
        }
        loadSnippets={async () => makeSnippets()}
        onShow={name => shown.push(name)}
        onClose={() => closed++}
        {...overrides}
      />
    );
    await until(() => !!widget.node.querySelector(ready));
  }

  afterEach(() => widget?.dispose());

  const node = (selector: string) => widget.node.querySelector(selector);

  it('offers the kernel’s models, the cell’s own chosen', async () => {
    await open();
    const models = [...widget.node.querySelectorAll('.jp-DataOps-candidate')];
    expect(models.map(item => item.getAttribute('data-variable'))).toEqual([
      'scaler',
      'clf'
    ]);
    expect(models[1].classList.contains('jp-mod-active')).toBe(true);
    expect(models[0].textContent).toMatch(/earlier cell/);
    expect((node('#jp-DataOps-endpointName') as HTMLInputElement).value).toBe(
      'clf'
    );
    expect(
      (node('#jp-DataOps-publishExample') as HTMLSelectElement).value
    ).toBe('X');
    expect((node('.jp-DataOps-exampleSlice') as HTMLInputElement).value).toBe(
      '[:5]'
    );
    // Choosing another model renames the endpoint, until a name is typed.
    click(models[0].querySelector('input'));
    await until(
      () =>
        (node('#jp-DataOps-endpointName') as HTMLInputElement).value ===
        'scaler'
    );
    type(node('#jp-DataOps-endpointName'), 'Iris_1');
    await until(() => !!node('.jp-DataOps-fieldError'));
    expect(node('.jp-DataOps-fieldError')!.textContent).toBe(
      'Lower-case letters only.'
    );
    type(node('#jp-DataOps-endpointName'), 'iris');
    // An existing endpoint: the new version replaces its own; a canary is offered.
    await until(() => !!node('.jp-DataOps-fieldWarning'));
    expect(node('.jp-DataOps-fieldWarning')!.textContent).toMatch(
      /iris exists \(v3/
    );
    expect((node('.jp-DataOps-canaryCheck') as HTMLInputElement).disabled).toBe(
      false
    );
    click(models[1].querySelector('input'));
    await until(
      () =>
        (node('#jp-DataOps-endpointName') as HTMLInputElement).value === 'iris'
    );
  });

  it('publishes, shows each step, then the URL and snippets', async () => {
    await open();
    type(node('#jp-DataOps-endpointName'), 'iris');
    click(node('.jp-DataOps-canaryCheck'));
    await until(() => !!node('.jp-DataOps-percentInput'));
    type(node('.jp-DataOps-percentInput'), '20');
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    expect(published).toEqual([
      {
        variable: 'clf',
        name: 'iris',
        example: 'X[:5]',
        alias: 'production',
        canary: 20
      }
    ]);
    report({
      phase: 'registering version 4 of iris',
      step: 2,
      error: null,
      log: []
    });
    await until(
      () =>
        node('.jp-DataOps-publishPhase')!.textContent ===
        'registering version 4 of iris…'
    );
    const steps = [
      ...widget.node.querySelectorAll('.jp-DataOps-publishStep')
    ].map(item => item.getAttribute('data-state'));
    expect(steps).toEqual(['done', 'current', 'todo', 'todo']);
    expect(node('.jp-DataOps-progressBar')!.getAttribute('style')).toMatch(
      /width: 38%/
    );
    pending.resolve({
      endpoint: makeEndpoint({ name: 'iris' }),
      version: makeVersion({ version: 4 }),
      seconds: 6.5,
      published: true,
      reason: null
    });
    await until(() => !!node('.jp-DataOps-published'));
    expect(node('.jp-DataOps-alert-success')!.textContent).toBe(
      '✓Endpoint iris serves iris v4 (published in 6.5 s).'
    );
    expect(node('.jp-DataOps-publishedUrl code')!.textContent).toBe(
      'http://127.0.0.1:5001/invocations'
    );
    await until(() => !!node('.jp-DataOps-snippetCode'));
    click(node('[data-action="show"]'));
    expect(shown).toEqual(['iris']);
    expect(closed).toBe(1);
  });

  it('says so when the new version was not served (no better)', async () => {
    await open();
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    pending.resolve({
      endpoint: makeEndpoint({ name: 'clf', version: 3 }),
      version: makeVersion({ version: 5 }),
      seconds: 2,
      published: false,
      reason: 'accuracy 0.91 is not better than v3’s 0.97'
    });
    await until(() => !!node('.jp-DataOps-published'));
    expect(node('.jp-DataOps-alert-success')).toBeNull();
    expect(node('.jp-DataOps-alert-warn')!.textContent).toBe(
      'v5 of iris was registered but not served: accuracy 0.91 is not better than v3’s 0.97. clf still serves v3.'
    );
  });

  it('shows the magic’s error in the form, to try again', async () => {
    await open();
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    pending.reject(
      new PublishError('port 5001 is taken', [
        'Traceback (most recent call last):'
      ])
    );
    await until(() => !!node('.jp-DataOps-publishError'));
    expect(node('.jp-DataOps-publishError')!.textContent).toMatch(
      /port 5001 is taken/
    );
    expect(node('.jp-DataOps-publishError pre')!.textContent).toMatch(
      /Traceback/
    );
    expect(node('[data-action="publish"]')!.textContent).toBe('Try again');
  });

  const targets = () =>
    [...widget.node.querySelectorAll('.jp-DataOps-serveTarget')].map(item => ({
      target: item.getAttribute('data-target'),
      checked: (item.querySelector('input') as HTMLInputElement).checked,
      disabled: (item.querySelector('input') as HTMLInputElement).disabled
    }));

  it('asks where to serve: loopback first, Kubernetes disabled', async () => {
    await open();
    expect(targets()).toEqual([
      { target: 'loopback', checked: true, disabled: false },
      { target: 'all', checked: false, disabled: false },
      { target: 'kubernetes', checked: false, disabled: true }
    ]);
    const kubernetes = node('[data-target="kubernetes"]')!;
    expect(kubernetes.textContent).toBe('Kubernetes cluster: not configured');
    expect(kubernetes.getAttribute('title')).toBe(
      'An operator offers it with c.DataOps.endpoint_targets = ["kubernetes"]'
    );
    expect(kubernetes.classList.contains('jp-mod-disabled')).toBe(true);
    expect(node('.jp-DataOps-serveTokenNote')).toBeNull();
    click(node('[data-target="all"] input'));
    await until(() => !!node('.jp-DataOps-serveTokenNote'));
    expect(node('.jp-DataOps-serveTokenNote')!.textContent).toBe(
      'Clients then need the endpoint’s token: dataops endpoints token clf, or GET /dataops/api/endpoints/clf/token.'
    );
    expect(targets().map(item => item.checked)).toEqual([false, true, false]);
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    expect(published).toEqual([
      {
        variable: 'clf',
        name: 'clf',
        example: 'X[:5]',
        alias: 'production',
        canary: null,
        host: '0.0.0.0'
      }
    ]);
    expect(publishMagicLine(published[0])).toMatch(
      / --host 0\.0\.0\.0 --json$/
    );
  });

  it('keeps this machine’s choices on a local server', async () => {
    let reads = 0;
    await open({
      loadSettings: async () => {
        reads++;
        return makeModelSettings({ target: 'local' });
      }
    });
    expect(reads).toBe(1);
    // The settings have answered: nothing changes.
    await new Promise(resolve => setTimeout(resolve, 20));
    expect(targets()).toEqual([
      { target: 'loopback', checked: true, disabled: false },
      { target: 'all', checked: false, disabled: false },
      { target: 'kubernetes', checked: false, disabled: true }
    ]);
    const kubernetes = node('[data-target="kubernetes"]')!;
    expect(kubernetes.textContent).toBe('Kubernetes cluster: not configured');
    expect(kubernetes.getAttribute('title')).toBe(
      'An operator offers it with c.DataOps.endpoint_targets = ["kubernetes"]'
    );
    expect(node('[data-target="loopback"]')!.getAttribute('title')).toBe(
      'Only programs on this machine can call it; no token'
    );
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    expect(published[0].host).toBe('127.0.0.1');
  });

  it('keeps this machine’s choices when the settings cannot be read', async () => {
    await open({ loadSettings: () => Promise.reject(new Error('403')) });
    await new Promise(resolve => setTimeout(resolve, 20));
    expect(targets()).toEqual([
      { target: 'loopback', checked: true, disabled: false },
      { target: 'all', checked: false, disabled: false },
      { target: 'kubernetes', checked: false, disabled: true }
    ]);
    click(node('[data-target="all"] input'));
    await until(() => targets()[1].checked);
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    expect(published[0].host).toBe('0.0.0.0');
  });

  const kubernetesSettings = async (): Promise<ModelSettings> =>
    makeModelSettings({ target: 'kubernetes' });

  it('serves on the cluster when the server’s endpoints run there', async () => {
    await open({ loadSettings: kubernetesSettings });
    await until(() => targets()[2]?.checked);
    expect(targets()).toEqual([
      { target: 'loopback', checked: false, disabled: true },
      { target: 'all', checked: false, disabled: true },
      { target: 'kubernetes', checked: true, disabled: false }
    ]);
    const kubernetes = node('[data-target="kubernetes"]')!;
    expect(kubernetes.textContent).toBe(
      'Kubernetes cluster (a Deployment and a Service)'
    );
    expect(kubernetes.classList.contains('jp-mod-active')).toBe(true);
    expect(kubernetes.classList.contains('jp-mod-disabled')).toBe(false);
    for (const target of ['loopback', 'all']) {
      const option = node(`[data-target="${target}"]`)!;
      expect(option.getAttribute('title')).toBe(
        'Endpoints on this server run on the cluster'
      );
      expect(option.classList.contains('jp-mod-disabled')).toBe(true);
    }
    // Every endpoint there gets a token.
    expect(node('.jp-DataOps-serveTokenNote')!.textContent).toBe(
      'Clients then need the endpoint’s token: dataops endpoints token clf, or GET /dataops/api/endpoints/clf/token.'
    );
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    expect(published).toEqual([
      {
        variable: 'clf',
        name: 'clf',
        example: 'X[:5]',
        alias: 'production',
        canary: null
      }
    ]);
    expect(publishMagicLine(published[0])).toBe(
      "publish clf --name clf --example 'X[:5]' --alias production --json"
    );
    // The result: the cluster's URL, the token, the snippets.
    pending.resolve({
      endpoint: makeEndpoint({
        name: 'clf',
        target: 'kubernetes',
        url: 'https://models.example.org/dataops-ep-clf/invocations',
        token_required: true
      }),
      version: makeVersion({ version: 1 }),
      seconds: 40,
      published: true,
      reason: null
    });
    await until(() => !!node('.jp-DataOps-publishedToken'));
    expect(node('.jp-DataOps-publishedUrl code')!.textContent).toBe(
      'https://models.example.org/dataops-ep-clf/invocations'
    );
    expect(
      node('.jp-DataOps-publishedToken .jp-DataOps-help')!.textContent
    ).toBe(
      'clf runs on the Kubernetes cluster: clients send its token (Authorization: Bearer …). This prints it:'
    );
    expect(node('.jp-DataOps-tokenCommand code')!.textContent).toBe(
      'dataops endpoints token clf'
    );
    await until(() => !!node('.jp-DataOps-snippetCode'));
  });

  it('sends no address on the cluster, whatever an existing endpoint uses', async () => {
    await open({
      loadSettings: kubernetesSettings,
      existing: name =>
        name === 'edge'
          ? makeEndpoint({
              name: 'edge',
              host: '10.0.0.5',
              token_required: true
            })
          : undefined
    });
    type(node('#jp-DataOps-endpointName'), 'edge');
    await until(
      () => !!node('[data-target="current"]') && targets()[3].checked
    );
    expect(targets()).toEqual([
      { target: 'loopback', checked: false, disabled: true },
      { target: 'all', checked: false, disabled: true },
      { target: 'current', checked: false, disabled: true },
      { target: 'kubernetes', checked: true, disabled: false }
    ]);
    expect(node('[data-target="current"]')!.getAttribute('title')).toBe(
      'Endpoints on this server run on the cluster'
    );
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    expect(published[0]).toMatchObject({ name: 'edge' });
    expect(published[0]).not.toHaveProperty('host');
  });

  it('offers this machine and the cluster when the server serves on both', async () => {
    await open({
      loadSettings: async () =>
        makeModelSettings({ target: 'local', targets: ['local', 'kserve'] })
    });
    await until(() => !targets()[2]?.disabled);
    expect(targets()).toEqual([
      { target: 'loopback', checked: true, disabled: false },
      { target: 'all', checked: false, disabled: false },
      { target: 'kubernetes', checked: false, disabled: false }
    ]);
    expect(node('[data-target="kubernetes"]')!.textContent).toBe(
      'Kubernetes cluster (a KServe InferenceService)'
    );
    click(node('[data-target="kubernetes"] input'));
    await until(() => targets()[2].checked);
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    expect(published[0]).toMatchObject({ name: 'clf', target: 'kserve' });
    expect(published[0]).not.toHaveProperty('host');
    expect(publishMagicLine(published[0])).toMatch(/ --on kserve --json$/);
  });

  it('opens the form without waiting for the settings; a form sent before waits for them', async () => {
    const settings = new PromiseDelegate<ModelSettings>();
    await open({ loadSettings: () => settings.promise });
    // Not known yet: this machine's choices, as before.
    expect(targets()).toEqual([
      { target: 'loopback', checked: true, disabled: false },
      { target: 'all', checked: false, disabled: false },
      { target: 'kubernetes', checked: false, disabled: true }
    ]);
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    expect(published).toEqual([]);
    settings.resolve(makeModelSettings({ target: 'kubernetes' }));
    await until(() => published.length === 1);
    expect(published[0]).not.toHaveProperty('host');
  });

  it('publishes on this machine when the settings fail after the form was sent', async () => {
    const settings = new PromiseDelegate<ModelSettings>();
    await open({ loadSettings: () => settings.promise });
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    settings.reject(new Error('offline'));
    await until(() => published.length === 1);
    expect(published[0].host).toBe('127.0.0.1');
  });

  it('publishes a new endpoint on loopback, whatever the server’s default', async () => {
    await open();
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    expect(published[0].host).toBe('127.0.0.1');
    expect(publishMagicLine(published[0])).toMatch(
      / --host 127\.0\.0\.1 --json$/
    );
  });

  it('preselects where an existing endpoint is served now', async () => {
    await open({
      existing: name =>
        name === 'iris'
          ? makeEndpoint({
              name: 'iris',
              host: '0.0.0.0',
              token_required: true
            })
          : name === 'edge'
            ? makeEndpoint({
                name: 'edge',
                host: '10.0.0.5',
                token_required: true
              })
            : undefined
    });
    type(node('#jp-DataOps-endpointName'), 'iris');
    await until(() => targets()[1].checked);
    expect(targets().map(item => item.target)).toEqual([
      'loopback',
      'all',
      'kubernetes'
    ]);
    expect(node('.jp-DataOps-serveTokenNote')).not.toBeNull();
    // Another address: offered as it is, and kept.
    type(node('#jp-DataOps-endpointName'), 'edge');
    await until(() => !!node('[data-target="current"]'));
    expect(node('[data-target="current"]')!.textContent).toBe(
      'This machine, as now (10.0.0.5), token required'
    );
    expect(targets().find(item => item.checked)!.target).toBe('current');
    // A new name: loopback again.
    type(node('#jp-DataOps-endpointName'), 'fresh');
    await until(() => targets()[0].checked);
    expect(node('[data-target="current"]')).toBeNull();
    type(node('#jp-DataOps-endpointName'), 'iris');
    await until(() => targets()[1].checked);
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    expect(published[0]).toMatchObject({ name: 'iris', host: '0.0.0.0' });
  });

  it('says a token is required once published off loopback', async () => {
    await open();
    click(node('[data-target="all"] input'));
    await until(() => targets()[1].checked);
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    pending.resolve({
      endpoint: makeEndpoint({
        name: 'clf',
        host: '0.0.0.0',
        url: 'http://0.0.0.0:5001/invocations',
        token_required: true
      }),
      version: makeVersion({ version: 1 }),
      seconds: 3,
      published: true,
      reason: null
    });
    await until(() => !!node('.jp-DataOps-publishedToken'));
    expect(node('.jp-DataOps-publishedToken label')!.textContent).toBe(
      'Token required'
    );
    expect(node('.jp-DataOps-tokenCommand code')!.textContent).toBe(
      'dataops endpoints token clf'
    );
    expect(
      node('.jp-DataOps-tokenCommand .jp-DataOps-copyButton')!.getAttribute(
        'aria-label'
      )
    ).toBe('Copy the command that prints the token');
  });

  it('shows no token note for an endpoint on loopback', async () => {
    await open();
    click(node('[data-action="publish"]'));
    await until(() => !!node('.jp-DataOps-publishProgress'));
    pending.resolve({
      endpoint: makeEndpoint({ name: 'clf' }),
      version: makeVersion({ version: 1 }),
      seconds: 3,
      published: true,
      reason: null
    });
    await until(() => !!node('.jp-DataOps-published'));
    expect(node('.jp-DataOps-publishedToken')).toBeNull();
  });

  it('says when the kernel has no model yet, or could not be asked', async () => {
    await open(
      { loadCandidates: async () => ({ models: [], examples: [] }) },
      '.jp-DataOps-alert-info'
    );
    expect(node('.jp-DataOps-alert-info')!.textContent).toMatch(
      /No model in train.ipynb/
    );
    widget.dispose();
    widget = await render(
      <PublishPanel
        trans={trans}
        notebook="train.ipynb"
        loadCandidates={() => Promise.reject(new Error('kernel busy'))}
        publish={() => pending.promise}
        existing={() => undefined}
        loadSnippets={async () => makeSnippets()}
        onShow={() => undefined}
        onClose={() => undefined}
      />
    );
    await until(() => !!node('.jp-DataOps-alert-error'));
    expect(node('.jp-DataOps-alert-error')!.textContent).toMatch(/kernel busy/);
  });
});
