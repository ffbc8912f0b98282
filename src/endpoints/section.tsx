/**
 * The Endpoints section of the DataOps sidebar: the catalogue of model
 * endpoints (status, model and version with any canary split, URL, recent
 * traffic and drift) and each endpoint's detail; and the "Publish model"
 * button of its heading.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import {
  CollectionError,
  CollectionSection,
  HeadingButton,
  headingWidget,
  useSignals
} from '../collection';
import { useNow } from '../jobs/section';
import { IEndpointsModel } from '../tokens';
import {
  CopyButton,
  DriftBadge,
  RateSparkline,
  StatusBadge,
  VersionSplit
} from './badges';
import { EndpointCommandIDs } from './commands';
import { EndpointDetail } from './detail';
import {
  chartSpan,
  formatLatency,
  formatPercent,
  formatRate,
  isDrifted,
  metricsGrid,
  trafficSummary
} from './format';
import { publishModelIcon } from './icons';
import { endpointStatusLabel } from './labels';
import { Endpoint, ENDPOINT_STATUSES } from './types';

/** How far back a row's sparkline goes (s). */
const SPARK_SECONDS = 15 * 60;

export interface IEndpointsViewProps {
  model: IEndpointsModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** The endpoint whose detail is open. */
  selected: string | null;
  onSelect: (name: string | null) => void;
}

/**
 * The catalogue's order: failed first (they need a look), then drifted,
 * then by name.
 */
export function catalogueOrder(endpoints: ReadonlyArray<Endpoint>): Endpoint[] {
  const weight = (endpoint: Endpoint) =>
    endpoint.status === 'failed' ? 0 : isDrifted(endpoint) ? 1 : 2;
  return [...endpoints].sort(
    (a, b) => weight(a) - weight(b) || a.name.localeCompare(b.name)
  );
}

/** The whole section: counts by status, the catalogue, each detail. */
export function EndpointsView(props: IEndpointsViewProps): JSX.Element {
  const { model, trans } = props;
  const endpoints = model.collection;
  useSignals(endpoints.changed, model.metricsChanged);
  React.useEffect(() => {
    const watch = model.watchMetrics();
    return () => watch.dispose();
  }, [model]);
  const busy = endpoints.items.some(item => item.status === 'starting');
  const now = useNow(busy);
  return (
    <div className="jp-DataOps-panel jp-DataOps-endpointsView">
      <StatusCounts {...props} />
      <CollectionError model={endpoints} trans={trans} />
      <EndpointList {...props} now={now} />
    </div>
  );
}

/** `● 2 running ● 1 failed`: the catalogue at a glance. */
function StatusCounts(props: IEndpointsViewProps): JSX.Element | null {
  const { model, trans } = props;
  const endpoints = model.collection;
  if (!endpoints.ready || endpoints.items.length === 0) {
    return null;
  }
  const drifted = endpoints.items.filter(item => isDrifted(item)).length;
  return (
    <div className="jp-DataOps-endpointCounts" role="status">
      {ENDPOINT_STATUSES.filter(status => endpoints.counts[status] > 0).map(
        status => (
          <span
            key={status}
            className={`jp-DataOps-countChip jp-DataOps-endpointStatus-${status}`}
            data-status={status}
          >
            <span className="jp-DataOps-badgeDot" aria-hidden="true" />
            {trans.__(
              '%1 %2',
              endpoints.counts[status],
              endpointStatusLabel(status, trans).toLowerCase()
            )}
          </span>
        )
      )}
      {drifted > 0 && (
        <span
          className="jp-DataOps-countChip jp-mod-drifted"
          data-drifted="true"
        >
          <span className="jp-DataOps-badgeDot" aria-hidden="true" />
          {trans._n('%1 drifted', '%1 drifted', drifted)}
        </span>
      )}
    </div>
  );
}

function EndpointList(
  props: IEndpointsViewProps & { now: number }
): JSX.Element {
  const { model, trans } = props;
  const endpoints = model.collection;
  if (!endpoints.ready) {
    if (endpoints.error) {
      return <div />;
    }
    return (
      <div className="jp-DataOps-empty">{trans.__('Loading endpoints…')}</div>
    );
  }
  if (endpoints.items.length === 0) {
    return (
      <div className="jp-DataOps-empty jp-DataOps-endpointsEmpty">
        <publishModelIcon.react
          tag="span"
          className="jp-DataOps-emptyIcon"
          aria-hidden="true"
        />
        <div>
          {trans.__(
            'No endpoints yet. Train a model in a notebook cell, then choose “Publish model” in the cell’s toolbar: DataOps logs it to MLflow, registers a version and serves it on a URL.'
          )}
        </div>
      </div>
    );
  }
  return (
    <ul
      className="jp-DataOps-jobs jp-DataOps-endpoints"
      aria-label={trans.__('Endpoints')}
    >
      {catalogueOrder(endpoints.items).map(endpoint => (
        <EndpointRow
          key={endpoint.name}
          {...props}
          endpoint={endpoint}
          expanded={props.selected === endpoint.name}
        />
      ))}
    </ul>
  );
}

/** Requests per second, p50 and p99, error rate, and a sparkline of the hour. */
function TrafficLine(
  props: IEndpointsViewProps & { endpoint: Endpoint }
): JSX.Element | null {
  const { model, endpoint, trans } = props;
  if (endpoint.status === 'failed' && endpoint.error) {
    return (
      <div className="jp-DataOps-jobErrorLine" title={endpoint.error}>
        {endpoint.error}
      </div>
    );
  }
  if (endpoint.status === 'stopped') {
    return (
      <div className="jp-DataOps-trafficLine jp-DataOps-muted">
        {trans.__('Not serving')}
      </div>
    );
  }
  const metrics = model.getMetrics(endpoint.name);
  if (!metrics) {
    return (
      <div className="jp-DataOps-trafficLine jp-DataOps-muted">
        {endpoint.status === 'starting'
          ? trans.__('Loading the model…')
          : trans.__('…')}
      </div>
    );
  }
  const summary = trafficSummary(metrics);
  const now = Date.now() / 1000;
  const span = chartSpan(metrics, endpoint.created_at, now, SPARK_SECONDS);
  const recent = metricsGrid(metrics, now, span).map(point => point.rate);
  const spark = (
    <RateSparkline
      rates={recent}
      label={trans.__(
        'Requests per second, last %1 min',
        Math.round(span / 60)
      )}
    />
  );
  if (summary.requests === 0) {
    return (
      <div className="jp-DataOps-trafficLine">
        {spark}
        <span className="jp-DataOps-muted">
          {trans.__('no requests in the last minute')}
        </span>
      </div>
    );
  }
  const errorClass =
    summary.errorRate !== null && summary.errorRate > 0.05
      ? ' jp-mod-error'
      : '';
  return (
    <div className="jp-DataOps-trafficLine">
      {spark}
      <span
        className="jp-DataOps-stat"
        data-stat="rate"
        title={trans.__('Requests per second, last minute')}
      >
        <b>{formatRate(summary.rate)}</b>
        {trans.__('/s')}
      </span>
      <span
        className="jp-DataOps-stat"
        data-stat="latency"
        title={trans.__('Latency: median and 99th percentile')}
      >
        <b>{formatLatency(summary.p50, trans)}</b>
        <span className="jp-DataOps-statSep">/</span>
        {formatLatency(summary.p99, trans)}
      </span>
      <span
        className={`jp-DataOps-stat${errorClass}`}
        data-stat="errors"
        title={trans.__('Share of requests answered 4xx or 5xx, last minute')}
      >
        <b>{formatPercent(summary.errorRate, trans)}</b> {trans.__('err')}
      </span>
    </div>
  );
}

function EndpointRow(
  props: IEndpointsViewProps & {
    endpoint: Endpoint;
    now: number;
    expanded: boolean;
  }
): JSX.Element {
  const { endpoint, trans, expanded } = props;
  const toggle = () => props.onSelect(expanded ? null : endpoint.name);
  return (
    <li
      className={`jp-DataOps-job jp-DataOps-endpoint jp-DataOps-endpointStatus-${
        endpoint.status
      }${expanded ? ' jp-mod-expanded' : ''}`}
      data-name={endpoint.name}
      data-status={endpoint.status}
      data-drifted={isDrifted(endpoint) ? 'true' : 'false'}
    >
      <div
        className="jp-DataOps-jobSummary jp-DataOps-endpointSummary"
        role="button"
        tabIndex={0}
        aria-expanded={expanded}
        onClick={toggle}
        onKeyDown={event => {
          if (event.target !== event.currentTarget) {
            return;
          }
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            toggle();
          }
        }}
      >
        <div className="jp-DataOps-jobMain">
          <div className="jp-DataOps-jobTop">
            <span className="jp-DataOps-endpointTitle">
              <StatusBadge
                status={endpoint.status}
                error={endpoint.error}
                trans={trans}
              />
              <span className="jp-DataOps-jobName" title={endpoint.name}>
                {endpoint.name}
              </span>
            </span>
            <DriftBadge endpoint={endpoint} trans={trans} />
          </div>
          <div className="jp-DataOps-endpointModel">
            <span
              className="jp-DataOps-modelName"
              title={trans.__('Registered model %1', endpoint.model_name)}
            >
              {endpoint.model_name}
            </span>
            <VersionSplit endpoint={endpoint} trans={trans} />
          </div>
          <div className="jp-DataOps-endpointUrl">
            <code title={endpoint.url}>{endpoint.url}</code>
            <CopyButton
              text={endpoint.url}
              label={trans.__('Copy the URL of %1', endpoint.name)}
              trans={trans}
            />
          </div>
          <TrafficLine {...props} />
        </div>
      </div>
      {expanded && <EndpointDetail {...props} />}
    </li>
  );
}

/** The Endpoints section's body: the view, and which endpoint's detail is open. */
export class EndpointsSection extends CollectionSection<IEndpointsModel> {
  constructor(options: CollectionSection.IOptions<IEndpointsModel>) {
    super(options, 'jp-DataOps-endpointsSection');
  }

  render(): JSX.Element {
    return <EndpointsView {...this.viewProps()} />;
  }
}

/** A widget for the section heading's "Publish model" button. */
export function createPublishButton(options: {
  commands: CommandRegistry;
  trans: TranslationBundle;
}): ReactWidget {
  const { commands, trans } = options;
  return headingWidget(
    <HeadingButton
      commands={commands}
      command={EndpointCommandIDs.publish}
      label={trans.__('Publish')}
      title={trans.__(
        'Publish a model the active notebook cell trained: log it to MLflow, register a version, serve it'
      )}
      icon={publishModelIcon}
      className="jp-DataOps-publishButton"
    />
  );
}
