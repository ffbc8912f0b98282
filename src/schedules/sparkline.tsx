/**
 * A sparkline of a schedule's recent outcomes: one small bar per due time,
 * oldest first, coloured (and sized) by what became of it.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { outcomeLabel } from './labels';
import { RECENT_OUTCOMES, RecentOutcome } from './types';

/** The most bars drawn: the latest outcomes. */
export const SPARKLINE_MAX = 20;

const BAR_WIDTH = 5;
const GAP = 2;
const HEIGHT = 16;

/** A bar's height: runs that ended tall, waiting ones half, non-runs low. */
function barHeight(outcome: RecentOutcome | null): number {
  switch (outcome) {
    case 'completed':
    case 'failed':
    case 'cancelled':
      return HEIGHT;
    case 'running':
      return 12;
    case 'queued':
      return 8;
    case 'skipped':
    case 'missed':
      return 5;
    default:
      return 5;
  }
}

/** How many times each outcome occurs, in the order outcomes are listed. */
export function outcomeCounts(
  recent: ReadonlyArray<string>
): [string, number][] {
  const counts = new Map<string, number>();
  for (const outcome of recent) {
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  }
  const known = RECENT_OUTCOMES.filter(outcome => counts.has(outcome));
  const other = [...counts.keys()].filter(
    outcome => !RECENT_OUTCOMES.includes(outcome as RecentOutcome)
  );
  return [...known, ...other].map(outcome => [outcome, counts.get(outcome)!]);
}

/** The sparkline of `recent` (oldest first). */
export function Sparkline(props: {
  recent: ReadonlyArray<string>;
  trans: TranslationBundle;
}): JSX.Element {
  const { trans } = props;
  const recent = props.recent.slice(-SPARKLINE_MAX);
  if (recent.length === 0) {
    return (
      <span className="jp-DataOps-sparkline jp-DataOps-sparkline-empty">
        {trans.__('not due yet')}
      </span>
    );
  }
  const summary = outcomeCounts(recent)
    .map(([outcome, count]) =>
      trans.__('%1 %2', count, outcomeLabel(outcome, trans).toLowerCase())
    )
    .join(', ');
  const label = trans._n(
    'Last due time: %2',
    'Last %1 due times: %2',
    recent.length,
    summary
  );
  const width = recent.length * (BAR_WIDTH + GAP) - GAP;
  return (
    <svg
      className="jp-DataOps-sparkline"
      role="img"
      aria-label={label}
      width={width}
      height={HEIGHT}
      viewBox={`0 0 ${width} ${HEIGHT}`}
    >
      <title>{label}</title>
      {recent.map((outcome, index) => {
        const known = RECENT_OUTCOMES.includes(outcome as RecentOutcome)
          ? (outcome as RecentOutcome)
          : null;
        const height = barHeight(known);
        return (
          <rect
            key={index}
            className={`jp-DataOps-spark jp-DataOps-spark-${known ?? 'other'}`}
            data-outcome={outcome}
            x={index * (BAR_WIDTH + GAP)}
            y={HEIGHT - height}
            width={BAR_WIDTH}
            height={height}
            rx={1}
          >
            <title>
              {trans.__(
                '%1 of %2: %3',
                index + 1,
                recent.length,
                outcomeLabel(outcome, trans)
              )}
            </title>
          </rect>
        );
      })}
    </svg>
  );
}
