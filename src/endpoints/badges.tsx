/**
 * Small pieces an endpoint's row and detail share: the status badge, the
 * drift badge, the canary split, a copy button and the traffic sparkline.
 */
import { Clipboard } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { checkIcon, copyIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { formatScore, hasCanary, isDrifted } from './format';
import { endpointStatusHelp, endpointStatusLabel } from './labels';
import { Endpoint, EndpointStatus } from './types';

/** An endpoint's status as a coloured pill: a dot (pulsing while starting) and a word. */
export function StatusBadge(props: {
  status: EndpointStatus;
  trans: TranslationBundle;
  /** Why it failed, for the tooltip. */
  error?: string | null;
}): JSX.Element {
  const { status, trans, error } = props;
  const help = endpointStatusHelp(status, trans);
  return (
    <span
      className={`jp-DataOps-statusBadge jp-DataOps-endpointStatus-${status}`}
      data-status={status}
      title={error ? trans.__('%1: %2', help, error) : help}
    >
      <span className="jp-DataOps-badgeDot" aria-hidden="true" />
      {endpointStatusLabel(status, trans)}
    </span>
  );
}

/**
 * Whether requests drifted from the reference data: a red `drift 0.31` over
 * the threshold, a quiet `drift 0.04` under it, nothing before a score.
 */
export function DriftBadge(props: {
  endpoint: Pick<Endpoint, 'drift_score' | 'drift_threshold'>;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { endpoint, trans } = props;
  const drifted = isDrifted(endpoint);
  if (drifted === null) {
    return null;
  }
  const score = formatScore(endpoint.drift_score);
  const threshold = formatScore(endpoint.drift_threshold);
  return (
    <span
      className={`jp-DataOps-driftBadge${drifted ? ' jp-mod-drifted' : ''}`}
      data-drifted={drifted ? 'true' : 'false'}
      title={
        drifted
          ? trans.__(
              'Recent requests drifted from the reference data: score %1, over the threshold %2',
              score,
              threshold
            )
          : trans.__(
              'Recent requests look like the reference data: score %1, threshold %2',
              score,
              threshold
            )
      }
    >
      {trans.__('drift %1', score)}
    </span>
  );
}

/** The version served, with the canary's share as a small split bar. */
export function VersionSplit(props: {
  endpoint: Pick<
    Endpoint,
    'version' | 'canary_version' | 'canary_percent' | 'alias'
  >;
  trans: TranslationBundle;
}): JSX.Element {
  const { endpoint, trans } = props;
  if (!hasCanary(endpoint)) {
    return (
      <span className="jp-DataOps-versionTag" title={endpoint.alias}>
        {trans.__('v%1', endpoint.version)}
      </span>
    );
  }
  const percent = endpoint.canary_percent;
  return (
    <span
      className="jp-DataOps-versionSplit"
      title={trans.__(
        'v%1 answers %2 % of requests, canary v%3 %4 %',
        endpoint.version,
        100 - percent,
        endpoint.canary_version,
        percent
      )}
    >
      <span className="jp-DataOps-versionTag">
        {trans.__('v%1', endpoint.version)}
      </span>
      <span className="jp-DataOps-splitBar" aria-hidden="true">
        <span
          className="jp-DataOps-splitCanary"
          style={{ width: `${Math.max(4, Math.min(100, percent))}%` }}
        />
      </span>
      <span className="jp-DataOps-versionTag jp-mod-canary">
        {trans.__('v%1 · %2 %', endpoint.canary_version, percent)}
      </span>
    </span>
  );
}

/** A small button that copies `text`, and says so for a moment. */
export function CopyButton(props: {
  text: string;
  label: string;
  trans: TranslationBundle;
  className?: string;
}): JSX.Element {
  const { text, label, trans } = props;
  const [copied, setCopied] = React.useState(false);
  React.useEffect(() => {
    if (!copied) {
      return;
    }
    const timer = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(timer);
  }, [copied]);
  const Icon = copied ? checkIcon : copyIcon;
  return (
    <button
      className={`jp-DataOps-copyButton${copied ? ' jp-mod-copied' : ''}${
        props.className ? ` ${props.className}` : ''
      }`}
      title={copied ? trans.__('Copied') : label}
      aria-label={label}
      onClick={event => {
        // In a row, the click is not for the row.
        event.stopPropagation();
        Clipboard.copyToSystem(text);
        setCopied(true);
      }}
      onKeyDown={event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.stopPropagation();
        }
      }}
    >
      <Icon.react tag="span" className="jp-DataOps-copyIcon" />
    </button>
  );
}

/** A tiny line of requests per second over the hour, for a catalogue row. */
export function RateSparkline(props: {
  rates: ReadonlyArray<number>;
  label: string;
}): JSX.Element | null {
  const { rates, label } = props;
  if (rates.length < 2) {
    return null;
  }
  const max = Math.max(...rates);
  const width = 48;
  const height = 14;
  const x = (index: number) => (index / (rates.length - 1)) * width;
  const y = (rate: number) =>
    max > 0 ? height - 1 - (rate / max) * (height - 2) : height - 1;
  const line = rates
    .map((rate, index) => `${index ? 'L' : 'M'}${x(index)},${y(rate)}`)
    .join('');
  return (
    <svg
      className="jp-DataOps-rateSpark"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={label}
    >
      <title>{label}</title>
      <path
        className="jp-DataOps-rateSparkArea"
        d={`${line}L${width},${height}L0,${height}Z`}
      />
      <path className="jp-DataOps-rateSparkLine" d={line} />
    </svg>
  );
}
