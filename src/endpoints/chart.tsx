/**
 * An endpoint's last hour in three small charts sharing one time axis:
 * requests per second, latency (p50 and p99) and error rate. Plain SVG: each
 * chart is drawn in its own units (one per interval across, 0-100 up) and
 * stretched to the sidebar's width, lines kept thin by `non-scaling-stroke`.
 * Hovering shows one interval's values in the charts' headings.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatTimestamp } from '../jobs/format';
import {
  chartSpan,
  formatLatency,
  formatPercent,
  formatRate,
  metricsGrid,
  trafficSummary
} from './format';
import { EndpointMetrics, MetricPoint } from './types';

/** The height of each chart's drawing, in its own units. */
const UNITS = 100;

/**
 * A round upper bound for a scale: 1, 2 or 5 times a power of ten at least
 * `value` (`floor` when there is nothing to show).
 */
export function niceMax(value: number, floor = 1): number {
  if (!(value > 0)) {
    return floor;
  }
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 5, 10]) {
    if (value <= step * power) {
      return step * power;
    }
  }
  return 10 * power;
}

/**
 * An SVG path through the values (null: a gap), `x` one unit per point,
 * `y` scaled so `max` is the top. A value alone between gaps is a short
 * dash, so a single busy interval still shows.
 */
export function linePath(
  values: ReadonlyArray<number | null>,
  max: number
): string {
  const last = values.length - 1;
  const y = (value: number) =>
    round(UNITS - (Math.min(value, max) / max) * UNITS);
  const known = (index: number) => {
    const value = values[index];
    return value !== null && value !== undefined && Number.isFinite(value);
  };
  let path = '';
  values.forEach((value, index) => {
    if (!known(index)) {
      return;
    }
    const alone = !known(index - 1) && !known(index + 1);
    if (alone) {
      const from = Math.max(0, index - 0.4);
      const to = Math.min(last, index + 0.4);
      path += `M${round(from)},${y(value!)}L${round(to)},${y(value!)}`;
    } else {
      path += `${known(index - 1) ? 'L' : 'M'}${index},${y(value!)}`;
    }
  });
  return path;
}

/** The area under the values, closed down to the axis. */
export function areaPath(values: ReadonlyArray<number>, max: number): string {
  if (values.length === 0) {
    return '';
  }
  return `${linePath(values, max)}L${values.length - 1},${UNITS}L0,${UNITS}Z`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The share of the hour's requests each version answered, largest first. */
export function versionShares(
  points: ReadonlyArray<MetricPoint>
): [string, number][] {
  const totals = new Map<string, number>();
  let all = 0;
  for (const point of points) {
    for (const [version, count] of Object.entries(point.by_version ?? {})) {
      totals.set(version, (totals.get(version) ?? 0) + count);
      all += count;
    }
  }
  if (all === 0) {
    return [];
  }
  return [...totals.entries()]
    .map(([version, count]): [string, number] => [version, count / all])
    .sort((a, b) => b[1] - a[1]);
}

/** One chart: its heading (name, value now or hovered) and its drawing. */
function ChartRow(props: {
  kind: string;
  title: string;
  value: React.ReactNode;
  scale: string;
  count: number;
  hover: number | null;
  children: React.ReactNode;
}): JSX.Element {
  const { kind, title, value, scale, count, hover } = props;
  return (
    <div className="jp-DataOps-chartRow" data-chart={kind}>
      <div className="jp-DataOps-chartHeading">
        <span className="jp-DataOps-chartTitle">{title}</span>
        <span className="jp-DataOps-chartValue">{value}</span>
      </div>
      <div className="jp-DataOps-chartBox">
        <svg
          className="jp-DataOps-chart"
          viewBox={`0 0 ${Math.max(1, count - 1)} ${UNITS}`}
          preserveAspectRatio="none"
          aria-hidden="true"
        >
          <line
            className="jp-DataOps-chartGrid"
            x1={0}
            x2={count - 1}
            y1={UNITS / 2}
            y2={UNITS / 2}
            vectorEffect="non-scaling-stroke"
          />
          {props.children}
          {hover !== null && (
            <line
              className="jp-DataOps-chartCursor"
              x1={hover}
              x2={hover}
              y1={0}
              y2={UNITS}
              vectorEffect="non-scaling-stroke"
            />
          )}
        </svg>
        <span className="jp-DataOps-chartScale">{scale}</span>
      </div>
    </div>
  );
}

/** The labels of a span's time axis, evenly spaced, in minutes before now. */
export function axisTicks(span: number): number[] {
  const minutes = Math.round(span / 60);
  const step =
    minutes <= 5 ? 1 : minutes <= 10 ? 2 : minutes <= 30 ? minutes / 3 : 15;
  const ticks: number[] = [];
  for (let tick = minutes; tick > 0; tick -= step) {
    ticks.push(tick);
  }
  return [...ticks, 0];
}

/** The chart of an endpoint's recent traffic (up to an hour), from its metrics. */
export function MetricsChart(props: {
  metrics: EndpointMetrics;
  /** The time the chart ends (epoch seconds). */
  now: number;
  /** When the endpoint began, so a young one's chart spans its life. */
  since?: number | null;
  trans: TranslationBundle;
}): JSX.Element {
  const { metrics, now, trans } = props;
  const [hover, setHover] = React.useState<number | null>(null);
  const span = chartSpan(metrics, props.since ?? null, now);
  const grid = React.useMemo(
    () => metricsGrid(metrics, now, span),
    [metrics, now, span]
  );
  const summary = React.useMemo(() => trafficSummary(metrics), [metrics]);
  const count = grid.length;
  const rates = grid.map(point => point.rate);
  const p50 = grid.map(point => (point.requests > 0 ? point.p50_ms : null));
  const p99 = grid.map(point => (point.requests > 0 ? point.p99_ms : null));
  const errors = grid.map(point => (point.requests > 0 ? point.error_rate : 0));
  const rateMax = niceMax(Math.max(...rates), 1);
  const latencyMax = niceMax(
    Math.max(0, ...p99.map(v => v ?? 0), ...p50.map(v => v ?? 0)),
    10
  );
  const errorMax = niceMax(Math.max(...errors), 0.01);
  const point = hover === null ? null : grid[hover];
  const total = grid.reduce((sum, item) => sum + item.requests, 0);
  const shares = versionShares(grid);

  const onMove = (event: React.MouseEvent<HTMLDivElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    if (box.width <= 0) {
      return;
    }
    const fraction = (event.clientX - box.left) / box.width;
    const index = Math.round(fraction * (count - 1));
    setHover(index >= 0 && index < count ? index : null);
  };

  const latencyValue = point ? (
    <>
      <span className="jp-DataOps-p50">
        {trans.__('p50 %1', formatLatency(p50[hover!], trans))}
      </span>
      <span className="jp-DataOps-p99">
        {trans.__('p99 %1', formatLatency(p99[hover!], trans))}
      </span>
    </>
  ) : (
    <>
      <span className="jp-DataOps-p50">
        {trans.__('p50 %1', formatLatency(summary.p50, trans))}
      </span>
      <span className="jp-DataOps-p99">
        {trans.__('p99 %1', formatLatency(summary.p99, trans))}
      </span>
    </>
  );
  return (
    <div className="jp-DataOps-metricsChart">
      <div className="jp-DataOps-chartCaption">
        {point ? (
          <span className="jp-DataOps-chartWhen">
            {formatTimestamp(point.t, now)}
            {' · '}
            {trans._n('%1 request', '%1 requests', point.requests)}
          </span>
        ) : (
          <span className="jp-DataOps-chartWhen">
            {span >= 3600
              ? trans._n(
                  'Last hour · %1 request',
                  'Last hour · %1 requests',
                  total
                )
              : trans._n(
                  'Last %2 min · %1 request',
                  'Last %2 min · %1 requests',
                  total,
                  Math.round(span / 60)
                )}
          </span>
        )}
        {shares.length > 1 && (
          <span
            className="jp-DataOps-chartShares"
            title={trans.__('Who answered the last hour’s requests')}
          >
            {shares
              .map(([version, share]) =>
                trans.__('v%1 %2', version, formatPercent(share, trans))
              )
              .join(' · ')}
          </span>
        )}
      </div>
      <div
        className="jp-DataOps-chartRows"
        onMouseMove={onMove}
        onMouseLeave={() => setHover(null)}
      >
        <ChartRow
          kind="rate"
          title={trans.__('Requests/s')}
          value={formatRate(point ? point.rate : summary.rate)}
          scale={formatRate(rateMax)}
          count={count}
          hover={hover}
        >
          <path
            className="jp-DataOps-chartArea jp-DataOps-rateArea"
            d={areaPath(rates, rateMax)}
          />
          <path
            className="jp-DataOps-chartLine jp-DataOps-rateLine"
            d={linePath(rates, rateMax)}
            vectorEffect="non-scaling-stroke"
          />
        </ChartRow>
        <ChartRow
          kind="latency"
          title={trans.__('Latency')}
          value={latencyValue}
          scale={formatLatency(latencyMax, trans)}
          count={count}
          hover={hover}
        >
          <path
            className="jp-DataOps-chartLine jp-DataOps-p99Line"
            d={linePath(p99, latencyMax)}
            vectorEffect="non-scaling-stroke"
          />
          <path
            className="jp-DataOps-chartLine jp-DataOps-p50Line"
            d={linePath(p50, latencyMax)}
            vectorEffect="non-scaling-stroke"
          />
        </ChartRow>
        <ChartRow
          kind="errors"
          title={trans.__('Errors')}
          value={formatPercent(
            point
              ? point.requests > 0
                ? point.error_rate
                : null
              : summary.errorRate,
            trans
          )}
          scale={formatPercent(errorMax, trans)}
          count={count}
          hover={hover}
        >
          <path
            className="jp-DataOps-chartArea jp-DataOps-errorArea"
            d={areaPath(errors, errorMax)}
          />
          <path
            className="jp-DataOps-chartLine jp-DataOps-errorLine"
            d={linePath(errors, errorMax)}
            vectorEffect="non-scaling-stroke"
          />
        </ChartRow>
        <div className="jp-DataOps-chartAxis" aria-hidden="true">
          {axisTicks(span).map((tick, index) => (
            <span key={tick}>
              {tick === 0
                ? trans.__('now')
                : index === 0
                  ? trans.__('−%1 min', tick)
                  : trans.__('−%1', tick)}
            </span>
          ))}
        </div>
      </div>
    </div>
  );
}
