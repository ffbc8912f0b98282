/**
 * One endpoint's detail in the Endpoints section: its actions (stop, start,
 * restart, roll back, promote, split traffic, delete), its last hour in a
 * chart, its drift with a bar per column, a "Try it" form, curl and Python
 * snippets, what it serves (with the run in MLflow) and its history.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { errorText } from '../api';
import { LoadProblem, useSignals } from '../collection';
import { CommandIDs } from '../jobs/commands';
import { OPEN_SNAPSHOT } from '../jobs/detail';
import { formatRelativeTime, formatTimestamp } from '../jobs/format';
import { shortId } from '../snapshots/format';
import { CopyButton, StatusBadge, VersionSplit } from './badges';
import { MetricsChart } from './chart';
import { EndpointCommandIDs } from './commands';
import {
  compactJSON,
  exampleText,
  formatScore,
  formatSeconds,
  hasCanary,
  parsePayload
} from './format';
import { historyActionLabel } from './labels';
import type { IEndpointsViewProps } from './section';
import {
  DriftReport,
  Endpoint,
  InvokeResult,
  ModelVersion,
  RegisteredModel,
  Snippets
} from './types';

/** How often an open detail asks for the endpoint's metrics (ms). */
export const DETAIL_METRICS_INTERVAL = 5000;

/** History entries shown before "Show all". */
export const HISTORY_SHOWN = 6;

/** The detail of an endpoint, under its row. */
export function EndpointDetail(
  props: IEndpointsViewProps & { endpoint: Endpoint; now: number }
): JSX.Element {
  const { model, endpoint } = props;
  const [panel, setPanel] = React.useState<'promote' | 'traffic' | null>(null);
  const registered = useRegisteredModel(props);
  const [snippets, snippetsProblem] = useSnippets(props);
  const toggle = (which: 'promote' | 'traffic') =>
    setPanel(panel === which ? null : which);
  React.useEffect(() => {
    // Its newest state: the catalogue's may be a few seconds old.
    void model.fetchEndpoint(endpoint.name).catch(() => undefined);
  }, [model, endpoint.name]);
  return (
    <div className="jp-DataOps-jobDetail jp-DataOps-endpointDetail">
      <Actions {...props} panel={panel} onPanel={toggle} />
      {endpoint.status === 'failed' && endpoint.error && (
        <div className="jp-DataOps-errorBox" role="alert">
          <div className="jp-DataOps-errorTitle">{endpoint.error}</div>
        </div>
      )}
      {panel === 'promote' && (
        <PromotePanel
          {...props}
          registered={registered}
          onDone={() => setPanel(null)}
        />
      )}
      {panel === 'traffic' && (
        <TrafficPanel
          {...props}
          registered={registered}
          onDone={() => setPanel(null)}
        />
      )}
      <MetricsPart {...props} />
      <DriftPart {...props} />
      <TryItPart {...props} snippets={snippets} />
      <SnippetsPart {...props} snippets={snippets} problem={snippetsProblem} />
      <ServedPart {...props} registered={registered} />
      <HistoryPart {...props} />
    </div>
  );
}

/** The registered model an endpoint serves, asked again when its version changes. */
interface IRegistered {
  model: RegisteredModel | null;
  problem: LoadProblem | null;
}

/**
 * What `ask` answers, asked again when `deps` change: the last answer (kept
 * while the next one comes) and the problem of the last ask, if it failed.
 * An answer that comes after the view moved on is dropped.
 */
function useAnswer<T>(
  ask: () => Promise<T>,
  deps: React.DependencyList
): [T | null, LoadProblem | null] {
  const [answer, setAnswer] = React.useState<T | null>(null);
  const [problem, setProblem] = React.useState<LoadProblem | null>(null);
  React.useEffect(() => {
    let cancelled = false;
    ask()
      .then(value => {
        if (!cancelled) {
          setAnswer(value);
          setProblem(null);
        }
      })
      .catch(reason => !cancelled && setProblem(errorText(reason)));
    return () => {
      cancelled = true;
    };
  }, deps);
  return [answer, problem];
}

function useRegisteredModel(
  props: IEndpointsViewProps & { endpoint: Endpoint }
): IRegistered {
  const { model, endpoint } = props;
  const key = `${endpoint.model_name}:${endpoint.version}:${endpoint.canary_version}`;
  const [registered, problem] = useAnswer(
    () => model.getModel(endpoint.model_name),
    [model, key]
  );
  return { model: registered, problem };
}

/** Stop or start, restart, roll back, promote…, split traffic…, delete. */
function Actions(
  props: IEndpointsViewProps & {
    endpoint: Endpoint;
    panel: 'promote' | 'traffic' | null;
    onPanel: (panel: 'promote' | 'traffic') => void;
  }
): JSX.Element {
  const { commands, endpoint, trans, panel } = props;
  const [busy, setBusy] = React.useState<string | null>(null);
  const run = (action: string, command: string) => {
    setBusy(action);
    void commands
      .execute(command, { name: endpoint.name })
      .catch(() => undefined)
      .then(() => setBusy(null));
  };
  const waiting =
    busy !== null ? trans.__('Wait for the last action to finish') : null;
  const serving = endpoint.desired === 'running';
  const buttons: {
    id: string;
    label: string;
    kind?: 'primary' | 'danger';
    pressed?: boolean;
    disabledBecause: string | null;
    caption: string;
    onClick: () => void;
  }[] = [
    serving
      ? {
          id: 'stop',
          label: busy === 'stop' ? trans.__('Stopping…') : trans.__('Stop'),
          disabledBecause: waiting,
          caption: trans.__(
            'Stop serving: its URL stops answering until you start it again'
          ),
          onClick: () => run('stop', EndpointCommandIDs.stop)
        }
      : {
          id: 'start',
          label: busy === 'start' ? trans.__('Starting…') : trans.__('Start'),
          kind: 'primary',
          disabledBecause: waiting,
          caption: trans.__('Serve it again, on the same URL'),
          onClick: () => run('start', EndpointCommandIDs.start)
        },
    {
      id: 'restart',
      label: busy === 'restart' ? trans.__('Restarting…') : trans.__('Restart'),
      disabledBecause:
        waiting ?? (serving ? null : trans.__('It is stopped: start it')),
      caption: trans.__('Start its server again (it reloads the model)'),
      onClick: () => run('restart', EndpointCommandIDs.restart)
    },
    {
      id: 'promote',
      label: hasCanary(endpoint)
        ? trans.__('Promote canary…')
        : trans.__('Promote…'),
      pressed: panel === 'promote',
      disabledBecause: waiting,
      caption: trans.__('Serve another version to all requests'),
      onClick: () => props.onPanel('promote')
    },
    {
      id: 'traffic',
      label: trans.__('Split traffic…'),
      pressed: panel === 'traffic',
      disabledBecause: waiting,
      caption: trans.__(
        'Send a share of requests to a canary version, next to the one served'
      ),
      onClick: () => props.onPanel('traffic')
    },
    {
      id: 'rollback',
      label:
        busy === 'rollback' ? trans.__('Rolling back…') : trans.__('Roll back'),
      disabledBecause: waiting,
      caption: trans.__('Serve the version served before this one'),
      onClick: () => run('rollback', EndpointCommandIDs.rollback)
    },
    {
      id: 'delete',
      label: busy === 'delete' ? trans.__('Deleting…') : trans.__('Delete…'),
      kind: 'danger',
      disabledBecause: waiting,
      caption: trans.__(
        'Stop it and forget it; its model versions stay in the registry'
      ),
      onClick: () => run('delete', EndpointCommandIDs.remove)
    }
  ];
  return (
    <div className="jp-DataOps-actions">
      {buttons.map(button => (
        <button
          key={button.id}
          className={`jp-DataOps-action${
            button.kind === 'primary'
              ? ' jp-DataOps-primary'
              : button.kind === 'danger'
                ? ' jp-DataOps-danger'
                : ''
          }${button.pressed ? ' jp-mod-active' : ''}`}
          data-action={button.id}
          aria-pressed={button.pressed}
          title={button.disabledBecause ?? button.caption}
          disabled={button.disabledBecause !== null}
          onClick={button.onClick}
        >
          {button.label}
        </button>
      ))}
    </div>
  );
}

/** `v3 (production) · 2 h ago`: a version as a choice shows it. */
export function versionOptionText(
  version: ModelVersion,
  trans: TranslationBundle,
  now: number
): string {
  const aliases = version.aliases.length
    ? trans.__(' (%1)', version.aliases.join(', '))
    : '';
  return trans.__(
    'v%1%2 · %3',
    version.version,
    aliases,
    formatRelativeTime(version.created_at, now, trans)
  );
}

/** Choose the version to serve to everyone (the canary, by default). */
function PromotePanel(
  props: IEndpointsViewProps & {
    endpoint: Endpoint;
    now: number;
    registered: IRegistered;
    onDone: () => void;
  }
): JSX.Element {
  const { commands, endpoint, trans, registered, now } = props;
  const versions = otherVersions(registered, endpoint);
  const initial =
    endpoint.canary_version ??
    versions.find(version => version.version > endpoint.version)?.version ??
    versions[0]?.version ??
    null;
  const [chosen, setChosen] = React.useState<number | null>(initial);
  React.useEffect(() => {
    if (chosen === null && initial !== null) {
      setChosen(initial);
    }
  }, [initial]);
  const [busy, setBusy] = React.useState(false);
  const selected = versions.find(version => version.version === chosen);
  return (
    <section
      className="jp-DataOps-detailPart jp-DataOps-endpointPanel"
      data-panel="promote"
    >
      <h3>{trans.__('Promote a version')}</h3>
      <VersionChoice
        registered={registered}
        versions={versions}
        empty={trans.__(
          'v%1 is the only version of %2: publish another to promote it.',
          endpoint.version,
          endpoint.model_name
        )}
        id={`jp-DataOps-promote-${endpoint.name}`}
        className="jp-DataOps-promoteVersion"
        label={trans.__('Version of %1', endpoint.model_name)}
        value={chosen}
        onChange={setChosen}
        optionSuffix={version =>
          version.version === endpoint.canary_version
            ? trans.__(' · canary')
            : ''
        }
        trans={trans}
        now={now}
      >
        {selected && <VersionFacts version={selected} trans={trans} />}
        <div className="jp-DataOps-panelButtons">
          <button
            className="jp-DataOps-action jp-DataOps-primary"
            data-action="promote-apply"
            disabled={busy || chosen === null}
            onClick={() => {
              setBusy(true);
              void commands
                .execute(EndpointCommandIDs.promote, {
                  name: endpoint.name,
                  version: chosen
                })
                .then(done => {
                  setBusy(false);
                  if (done) {
                    props.onDone();
                  }
                })
                .catch(() => setBusy(false));
            }}
          >
            {busy
              ? trans.__('Promoting…')
              : trans.__('Serve v%1 to all requests', chosen ?? '')}
          </button>
        </div>
      </VersionChoice>
    </section>
  );
}

/** The served model's versions but the one served to most requests. */
function otherVersions(
  registered: IRegistered,
  endpoint: Endpoint
): ModelVersion[] {
  return (registered.model?.versions ?? []).filter(
    version => version.version !== endpoint.version
  );
}

/**
 * A panel's choice of a version: the registered model's problem, "Loading
 * versions…" or the `empty` message while there is nothing to choose, else a
 * labelled list of the versions followed by the panel's `children`.
 */
function VersionChoice(props: {
  registered: IRegistered;
  versions: ModelVersion[];
  /** Shown when the model has no version but the one served. */
  empty: string;
  /** The list's id, and its class (besides `jp-mod-styled`). */
  id: string;
  className: string;
  label: string;
  value: number | null;
  onChange: (version: number) => void;
  /** Words after a version's text in the list (` · canary`). */
  optionSuffix?: (version: ModelVersion) => string;
  trans: TranslationBundle;
  now: number;
  children?: React.ReactNode;
}): JSX.Element {
  const { registered, versions, trans, now } = props;
  return (
    <>
      {registered.problem && <Problem problem={registered.problem} />}
      {!registered.model && !registered.problem && (
        <div className="jp-DataOps-muted">{trans.__('Loading versions…')}</div>
      )}
      {registered.model && versions.length === 0 && (
        <div className="jp-DataOps-muted">{props.empty}</div>
      )}
      {versions.length > 0 && (
        <>
          <div className="jp-DataOps-field">
            <label htmlFor={props.id}>{props.label}</label>
            <select
              id={props.id}
              className={`jp-mod-styled ${props.className}`}
              value={props.value ?? ''}
              onChange={event => props.onChange(Number(event.target.value))}
            >
              {versions.map(version => (
                <option key={version.version} value={version.version}>
                  {versionOptionText(version, trans, now)}
                  {props.optionSuffix?.(version)}
                </option>
              ))}
            </select>
          </div>
          {props.children}
        </>
      )}
    </>
  );
}

/** A version's metrics and its run in MLflow, in a line. */
function VersionFacts(props: {
  version: ModelVersion;
  trans: TranslationBundle;
}): JSX.Element {
  const { version, trans } = props;
  const metrics = Object.entries(version.metrics).slice(0, 4);
  return (
    <div className="jp-DataOps-versionFacts">
      {metrics.map(([name, value]) => (
        <span key={name} className="jp-DataOps-metricTag" title={name}>
          {name} <b>{formatScore(value)}</b>
        </span>
      ))}
      {version.run_url && (
        <a
          className="jp-DataOps-mlflowLink"
          href={version.run_url}
          target="_blank"
          rel="noopener noreferrer"
        >
          {trans.__('Open in MLflow')}
        </a>
      )}
    </div>
  );
}

/** Choose a canary version and its share of requests. */
function TrafficPanel(
  props: IEndpointsViewProps & {
    endpoint: Endpoint;
    now: number;
    registered: IRegistered;
    onDone: () => void;
  }
): JSX.Element {
  const { commands, endpoint, trans, registered, now } = props;
  const versions = otherVersions(registered, endpoint);
  const [canary, setCanary] = React.useState<number | null>(
    endpoint.canary_version
  );
  React.useEffect(() => {
    if (canary === null && versions.length > 0) {
      setCanary(versions[0].version);
    }
  }, [versions.length]);
  const [percent, setPercent] = React.useState<number>(
    endpoint.canary_percent > 0 ? endpoint.canary_percent : 10
  );
  const [busy, setBusy] = React.useState(false);
  const clamp = (value: number) =>
    Math.max(0, Math.min(99, Math.round(Number.isFinite(value) ? value : 0)));
  const apply = (request: {
    canary_version: number | null;
    percent: number;
  }) => {
    setBusy(true);
    void commands
      .execute(EndpointCommandIDs.traffic, {
        name: endpoint.name,
        ...request
      })
      .then(done => {
        setBusy(false);
        if (done) {
          props.onDone();
        }
      })
      .catch(() => setBusy(false));
  };
  return (
    <section
      className="jp-DataOps-detailPart jp-DataOps-endpointPanel"
      data-panel="traffic"
    >
      <h3>{trans.__('Split traffic')}</h3>
      <VersionChoice
        registered={registered}
        versions={versions}
        empty={trans.__(
          'v%1 is the only version of %2: publish another (as a canary) to split traffic.',
          endpoint.version,
          endpoint.model_name
        )}
        id={`jp-DataOps-canary-${endpoint.name}`}
        className="jp-DataOps-canaryVersion"
        label={trans.__('Canary version')}
        value={canary}
        onChange={setCanary}
        trans={trans}
        now={now}
      >
        <div className="jp-DataOps-field">
          <label htmlFor={`jp-DataOps-percent-${endpoint.name}`}>
            {trans.__('Share of requests')}
          </label>
          <div className="jp-DataOps-percentRow">
            <input
              type="range"
              className="jp-DataOps-percentSlider"
              min={0}
              max={99}
              value={percent}
              aria-label={trans.__('Canary share (slider)')}
              onChange={event => setPercent(clamp(Number(event.target.value)))}
            />
            <input
              id={`jp-DataOps-percent-${endpoint.name}`}
              type="number"
              className="jp-mod-styled jp-DataOps-percentInput"
              min={0}
              max={99}
              value={percent}
              onChange={event => setPercent(clamp(Number(event.target.value)))}
            />
            <span>%</span>
          </div>
          <div className="jp-DataOps-splitPreview" aria-hidden="true">
            <span style={{ flexGrow: 100 - percent }}>
              {trans.__('v%1 · %2 %', endpoint.version, 100 - percent)}
            </span>
            {percent > 0 && (
              <span
                className="jp-mod-canary"
                style={{ flexGrow: Math.max(percent, 12) }}
              >
                {trans.__('v%1 · %2 %', canary ?? '?', percent)}
              </span>
            )}
          </div>
        </div>
        <div className="jp-DataOps-panelButtons">
          <button
            className="jp-DataOps-action jp-DataOps-primary"
            data-action="traffic-apply"
            disabled={busy || canary === null}
            onClick={() => apply({ canary_version: canary, percent })}
          >
            {busy ? trans.__('Applying…') : trans.__('Apply split')}
          </button>
          {hasCanary(endpoint) && (
            <button
              className="jp-DataOps-action"
              data-action="traffic-end"
              disabled={busy}
              title={trans.__('Send every request to v%1', endpoint.version)}
              onClick={() => apply({ canary_version: null, percent: 0 })}
            >
              {trans.__('End the split')}
            </button>
          )}
        </div>
      </VersionChoice>
    </section>
  );
}

function Problem(props: { problem: LoadProblem }): JSX.Element {
  return (
    <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
      <div>{props.problem.message}</div>
      {props.problem.hint && (
        <div className="jp-DataOps-hint">{props.problem.hint}</div>
      )}
    </div>
  );
}

/** The last hour's chart, asked for again every few seconds while open. */
function MetricsPart(
  props: IEndpointsViewProps & { endpoint: Endpoint }
): JSX.Element {
  const { model, endpoint, trans } = props;
  const name = endpoint.name;
  useSignals(model.metricsChanged);
  const [problem, setProblem] = React.useState<LoadProblem | null>(null);
  React.useEffect(() => {
    let cancelled = false;
    const fetch = () => {
      if (typeof document !== 'undefined' && document.hidden) {
        return;
      }
      model
        .fetchMetrics(name)
        .then(() => !cancelled && setProblem(null))
        .catch(reason => !cancelled && setProblem(errorText(reason)));
    };
    fetch();
    const timer = setInterval(fetch, DETAIL_METRICS_INTERVAL);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [model, name]);
  const metrics = model.getMetrics(name);
  // The hour ends with the newest interval the server counted, or now.
  const now = React.useMemo(() => Date.now() / 1000, [metrics]);
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-endpointMetrics">
      {metrics ? (
        <>
          <MetricsChart
            metrics={metrics}
            now={now}
            since={endpoint.created_at}
            trans={trans}
          />
          {!metrics.available && endpoint.status === 'running' && (
            <div className="jp-DataOps-help">
              {trans.__('It did not answer the last request for its metrics.')}
            </div>
          )}
        </>
      ) : problem ? (
        <Problem problem={problem} />
      ) : (
        <div className="jp-DataOps-muted">{trans.__('Loading metrics…')}</div>
      )}
    </section>
  );
}

/** The drift score against the threshold, and a bar per column. */
function DriftPart(
  props: IEndpointsViewProps & { endpoint: Endpoint }
): JSX.Element {
  const { model, endpoint, trans } = props;
  const [report, problem] = useAnswer<DriftReport>(
    () => model.fetchDrift(endpoint.name),
    [model, endpoint.name, endpoint.drift_checked_at, endpoint.drift_score]
  );
  if (!report) {
    return (
      <section className="jp-DataOps-detailPart jp-DataOps-endpointDrift">
        <h3>{trans.__('Drift')}</h3>
        {problem ? (
          <Problem problem={problem} />
        ) : (
          <div className="jp-DataOps-muted">{trans.__('Loading…')}</div>
        )}
      </section>
    );
  }
  return <DriftView report={report} trans={trans} />;
}

/** A drift report: the score on a gauge with its threshold, then each column. */
export function DriftView(props: {
  report: DriftReport;
  trans: TranslationBundle;
}): JSX.Element {
  const { report, trans } = props;
  const columns = [...report.columns].sort((a, b) => b.score - a.score);
  const scale = Math.max(
    report.threshold * 2,
    report.score ?? 0,
    ...columns.map(column => column.score)
  );
  const width = (value: number) =>
    `${Math.max(0, Math.min(100, (value / (scale || 1)) * 100))}%`;
  const state =
    report.score === null ? 'none' : report.drifted ? 'drifted' : 'stable';
  return (
    <section
      className="jp-DataOps-detailPart jp-DataOps-endpointDrift"
      data-drift={state}
    >
      <h3>
        {trans.__('Drift')}
        <span className={`jp-DataOps-driftState jp-DataOps-drift-${state}`}>
          {state === 'drifted'
            ? trans.__('over threshold')
            : state === 'stable'
              ? trans.__('stable')
              : trans.__('not measured yet')}
        </span>
      </h3>
      {report.score !== null && (
        <div
          className="jp-DataOps-driftGauge"
          title={trans.__(
            'Score %1 (the largest column score); threshold %2',
            formatScore(report.score),
            formatScore(report.threshold)
          )}
        >
          <div className="jp-DataOps-driftTrack">
            <div
              className="jp-DataOps-driftFill"
              style={{ width: width(report.score) }}
            />
            <div
              className="jp-DataOps-driftThreshold"
              style={{ left: width(report.threshold) }}
            />
          </div>
          <div className="jp-DataOps-driftNumbers">
            <span className="jp-DataOps-driftScore">
              {formatScore(report.score)}
            </span>
            <span className="jp-DataOps-help">
              {trans.__('threshold %1', formatScore(report.threshold))}
            </span>
          </div>
        </div>
      )}
      {report.message && (
        <div className="jp-DataOps-help jp-DataOps-driftMessage">
          {report.message}
        </div>
      )}
      {columns.length > 0 && (
        <ul
          className="jp-DataOps-driftColumns"
          aria-label={trans.__('Columns')}
        >
          {columns.map(column => (
            <li
              key={column.name}
              className={`jp-DataOps-driftColumn${
                column.score > report.threshold ? ' jp-mod-drifted' : ''
              }`}
              data-column={column.name}
              title={trans.__(
                '%1 (%2): population stability index %3',
                column.name,
                column.kind === 'numeric'
                  ? trans.__('numeric')
                  : trans.__('categorical'),
                formatScore(column.score)
              )}
            >
              <span className="jp-DataOps-driftName">{column.name}</span>
              <span className="jp-DataOps-driftBar">
                <span
                  className="jp-DataOps-driftBarFill"
                  style={{ width: width(column.score) }}
                />
                <span
                  className="jp-DataOps-driftThreshold"
                  style={{ left: width(report.threshold) }}
                />
              </span>
              <span className="jp-DataOps-driftValue">
                {formatScore(column.score)}
              </span>
            </li>
          ))}
        </ul>
      )}
      {report.score !== null && (
        <div className="jp-DataOps-help">
          {trans.__(
            '%1 recent rows against %2 reference rows',
            report.sample_rows,
            report.reference_rows
          )}
        </div>
      )}
    </section>
  );
}

/** The snippets of an endpoint, asked again when the version it serves changes. */
function useSnippets(
  props: IEndpointsViewProps & { endpoint: Endpoint }
): [Snippets | null, LoadProblem | null] {
  const { model, endpoint } = props;
  return useAnswer<Snippets>(
    () => model.snippets(endpoint.name),
    [model, endpoint.name, endpoint.version, endpoint.url]
  );
}

/** Send a JSON request (the input example at first), see the answer. */
function TryItPart(
  props: IEndpointsViewProps & {
    endpoint: Endpoint;
    snippets: Snippets | null;
  }
): JSX.Element {
  const { model, endpoint, trans, snippets } = props;
  const [text, setText] = React.useState<string | null>(null);
  const [sending, setSending] = React.useState(false);
  const [result, setResult] = React.useState<InvokeResult | null>(null);
  const [problem, setProblem] = React.useState<LoadProblem | null>(null);
  const value = text ?? exampleText(snippets?.example ?? null);
  const parsed = value.trim() ? parsePayload(value, trans) : null;
  const invalid = parsed && 'error' in parsed ? parsed.error : null;
  const send = () => {
    if (!parsed || 'error' in parsed) {
      return;
    }
    setSending(true);
    setProblem(null);
    model
      .invoke(endpoint.name, parsed.payload)
      .then(answer => setResult(answer))
      .catch(reason => {
        setResult(null);
        setProblem(errorText(reason));
      })
      .finally(() => setSending(false));
  };
  const id = `jp-DataOps-tryIt-${endpoint.name}`;
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-tryIt">
      <h3>{trans.__('Try it')}</h3>
      <div className="jp-DataOps-field">
        <label htmlFor={id} className="jp-DataOps-srOnly">
          {trans.__('Request body (JSON)')}
        </label>
        <textarea
          id={id}
          className={`jp-mod-styled jp-DataOps-json jp-DataOps-tryItBody${
            invalid ? ' jp-DataOps-invalid' : ''
          }`}
          rows={Math.min(10, Math.max(4, value.split('\n').length))}
          spellCheck={false}
          placeholder={
            '{"dataframe_split": {"columns": [...], "data": [[...]]}}'
          }
          value={value}
          onChange={event => setText(event.target.value)}
          onKeyDown={event => {
            if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
              event.preventDefault();
              send();
            }
          }}
        />
        {invalid && <div className="jp-DataOps-fieldError">{invalid}</div>}
      </div>
      <div className="jp-DataOps-panelButtons">
        <button
          className="jp-DataOps-action jp-DataOps-primary"
          data-action="send"
          disabled={sending || !parsed || invalid !== null}
          title={
            endpoint.status === 'running'
              ? trans.__('Send it to the endpoint (Ctrl+Enter)')
              : trans.__('It is %1: it may not answer', endpoint.status)
          }
          onClick={send}
        >
          {sending ? trans.__('Sending…') : trans.__('Send')}
        </button>
        {text !== null && snippets?.example && (
          <button
            className="jp-DataOps-action"
            onClick={() => setText(null)}
            title={trans.__('Back to the input example')}
          >
            {trans.__('Reset')}
          </button>
        )}
      </div>
      {problem && <Problem problem={problem} />}
      {result && <InvokeAnswer result={result} trans={trans} />}
    </section>
  );
}

/** What the endpoint answered: status, version and time, then the body. */
export function InvokeAnswer(props: {
  result: InvokeResult;
  trans: TranslationBundle;
}): JSX.Element {
  const { result, trans } = props;
  const ok = result.status >= 200 && result.status < 300;
  const body =
    typeof result.body === 'string' ? result.body : compactJSON(result.body);
  return (
    <div
      className={`jp-DataOps-invokeResult${ok ? '' : ' jp-mod-error'}`}
      data-status={result.status}
    >
      <div className="jp-DataOps-invokeMeta">
        <span className={`jp-DataOps-httpStatus${ok ? '' : ' jp-mod-error'}`}>
          {result.status}
        </span>
        {result.version && (
          <span
            className="jp-DataOps-versionTag"
            title={trans.__('The version that answered')}
          >
            {trans.__('v%1', result.version)}
          </span>
        )}
        <span className="jp-DataOps-invokeTime">
          {formatSeconds(result.seconds, trans)}
        </span>
      </div>
      <pre className="jp-DataOps-invokeBody">{body}</pre>
    </div>
  );
}

/** curl and Python, each with a copy button. */
function SnippetsPart(
  props: IEndpointsViewProps & {
    endpoint: Endpoint;
    snippets: Snippets | null;
    problem: LoadProblem | null;
  }
): JSX.Element {
  const { trans, snippets, problem } = props;
  const [tab, setTab] = React.useState<'curl' | 'python'>('curl');
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-snippets">
      <h3>{trans.__('Call it')}</h3>
      {problem && <Problem problem={problem} />}
      {snippets && (
        <SnippetTabs
          snippets={snippets}
          tab={tab}
          onTab={setTab}
          trans={trans}
        />
      )}
      {!snippets && !problem && (
        <div className="jp-DataOps-muted">{trans.__('Loading…')}</div>
      )}
    </section>
  );
}

/** The curl and Python snippets as two tabs, the shown one copyable. */
export function SnippetTabs(props: {
  snippets: Snippets;
  tab: 'curl' | 'python';
  onTab: (tab: 'curl' | 'python') => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { snippets, tab, trans } = props;
  const text = tab === 'curl' ? snippets.curl : snippets.python;
  return (
    <div className="jp-DataOps-snippet" data-tab={tab}>
      <div className="jp-DataOps-snippetTabs" role="tablist">
        {(['curl', 'python'] as const).map(name => (
          <button
            key={name}
            role="tab"
            aria-selected={tab === name}
            className={`jp-DataOps-snippetTab${tab === name ? ' jp-mod-active' : ''}`}
            data-tab={name}
            onClick={() => props.onTab(name)}
          >
            {name === 'curl' ? 'curl' : 'Python'}
          </button>
        ))}
        <CopyButton
          text={text}
          label={
            tab === 'curl'
              ? trans.__('Copy the curl command')
              : trans.__('Copy the Python code')
          }
          trans={trans}
          className="jp-DataOps-snippetCopy"
        />
      </div>
      <pre className="jp-DataOps-snippetCode">{text}</pre>
    </div>
  );
}

/** What it serves and where: the model and version, its run, URL and more. */
function ServedPart(
  props: IEndpointsViewProps & {
    endpoint: Endpoint;
    now: number;
    registered: IRegistered;
  }
): JSX.Element {
  const { endpoint, trans, now, commands, registered } = props;
  const served = registered.model?.versions.find(
    version => version.version === endpoint.version
  );
  const canary = registered.model?.versions.find(
    version => version.version === endpoint.canary_version
  );
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-endpointServed">
      <h3>{trans.__('Serving')}</h3>
      <dl className="jp-DataOps-fields">
        <dt>{trans.__('Model')}</dt>
        <dd>
          <span className="jp-DataOps-modelName">{endpoint.model_name}</span>{' '}
          <VersionSplit endpoint={endpoint} trans={trans} />{' '}
          <span className="jp-DataOps-aliasTag" title={trans.__('Alias')}>
            @{endpoint.alias}
          </span>
        </dd>
        {served && (
          <>
            <dt>{trans.__('Run')}</dt>
            <dd>
              <VersionFacts version={served} trans={trans} />
              {!served.run_url && served.run_id && (
                <code title={served.run_id}>{shortId(served.run_id, 12)}</code>
              )}
            </dd>
          </>
        )}
        {canary && canary.run_url && (
          <>
            <dt>{trans.__('Canary run')}</dt>
            <dd>
              <VersionFacts version={canary} trans={trans} />
            </dd>
          </>
        )}
        <dt>{trans.__('URL')}</dt>
        <dd className="jp-DataOps-urlValue">
          <code>{endpoint.url}</code>
          <CopyButton
            text={endpoint.url}
            label={trans.__('Copy the URL')}
            trans={trans}
          />
        </dd>
        <dt>{trans.__('Status')}</dt>
        <dd>
          <StatusBadge
            status={endpoint.status}
            error={endpoint.error}
            trans={trans}
          />
          {endpoint.started_at !== null && endpoint.status === 'running' && (
            <span className="jp-DataOps-muted">
              {' '}
              {trans.__(
                'since %1',
                formatRelativeTime(endpoint.started_at, now, trans)
              )}
            </span>
          )}
          {endpoint.restarts > 0 && (
            <span className="jp-DataOps-muted">
              {' '}
              {trans._n(
                '(restarted %1 time)',
                '(restarted %1 times)',
                endpoint.restarts
              )}
            </span>
          )}
        </dd>
        <dt>{trans.__('Where')}</dt>
        <dd>
          {trans.__(
            '%1 · %2:%3',
            endpoint.target,
            endpoint.host,
            endpoint.port
          )}
          {endpoint.token_required && (
            <span className="jp-DataOps-muted">
              {' '}
              {trans.__('(token required)')}
            </span>
          )}
        </dd>
        {(endpoint.job_id || endpoint.snapshot_id) && (
          <>
            <dt>{trans.__('Made by')}</dt>
            <dd>
              {endpoint.job_id && (
                <button
                  className="jp-DataOps-inlineLink"
                  title={trans.__('Open job %1', endpoint.job_id)}
                  onClick={() =>
                    void commands.execute(CommandIDs.openPanel, {
                      select: endpoint.job_id
                    })
                  }
                >
                  {trans.__('job %1', shortId(endpoint.job_id))}
                </button>
              )}
              {endpoint.job_id && endpoint.snapshot_id && ' · '}
              {endpoint.snapshot_id && (
                <button
                  className="jp-DataOps-inlineLink"
                  title={trans.__('Open snapshot %1', endpoint.snapshot_id)}
                  onClick={() =>
                    void commands.execute(OPEN_SNAPSHOT, {
                      id: endpoint.snapshot_id
                    })
                  }
                >
                  {trans.__('snapshot %1', shortId(endpoint.snapshot_id))}
                </button>
              )}
            </dd>
          </>
        )}
        {endpoint.owner && (
          <>
            <dt>{trans.__('Owner')}</dt>
            <dd>{endpoint.owner}</dd>
          </>
        )}
        <dt>{trans.__('Created')}</dt>
        <dd title={formatTimestamp(endpoint.created_at)}>
          {formatTimestamp(endpoint.created_at, now)}
        </dd>
      </dl>
    </section>
  );
}

/** What was done to it, newest first, as a timeline. */
function HistoryPart(
  props: IEndpointsViewProps & { endpoint: Endpoint; now: number }
): JSX.Element | null {
  const { endpoint, trans, now } = props;
  const [all, setAll] = React.useState(false);
  if (endpoint.history.length === 0) {
    return null;
  }
  const entries = [...endpoint.history].sort((a, b) => b.at - a.at);
  const shown = all ? entries : entries.slice(0, HISTORY_SHOWN);
  return (
    <section className="jp-DataOps-detailPart jp-DataOps-endpointHistory">
      <h3>
        {trans.__('History')}
        <span className="jp-DataOps-partCount">{entries.length}</span>
      </h3>
      <ol className="jp-DataOps-timeline">
        {shown.map((entry, index) => (
          <li
            key={`${entry.at}-${index}`}
            className="jp-DataOps-timelineEntry"
            data-action={entry.action}
          >
            <span className="jp-DataOps-timelineDot" aria-hidden="true" />
            <div className="jp-DataOps-timelineMain">
              <div className="jp-DataOps-timelineTop">
                <span className="jp-DataOps-timelineAction">
                  {historyActionLabel(entry.action, trans)}
                  {entry.version !== null && (
                    <span className="jp-DataOps-versionTag">
                      {trans.__('v%1', entry.version)}
                    </span>
                  )}
                </span>
                <span
                  className="jp-DataOps-jobTime"
                  title={formatTimestamp(entry.at)}
                >
                  {formatRelativeTime(entry.at, now, trans)}
                </span>
              </div>
              {(entry.detail || entry.actor) && (
                <div className="jp-DataOps-timelineDetail">
                  {[entry.detail, entry.actor && trans.__('by %1', entry.actor)]
                    .filter(Boolean)
                    .join(' · ')}
                </div>
              )}
            </div>
          </li>
        ))}
      </ol>
      {entries.length > HISTORY_SHOWN && (
        <button className="jp-DataOps-inlineLink" onClick={() => setAll(!all)}>
          {all
            ? trans.__('Show fewer')
            : trans.__('Show all %1', entries.length)}
        </button>
      )}
    </section>
  );
}
