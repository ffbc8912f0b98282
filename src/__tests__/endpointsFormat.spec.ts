import {
  areaPath,
  axisTicks,
  linePath,
  niceMax,
  versionShares
} from '../endpoints/chart';
import {
  chartSpan,
  compactJSON,
  defaultEndpointName,
  endpointNameError,
  formatLatency,
  formatPercent,
  formatRate,
  formatScore,
  isDrifted,
  metricsGrid,
  parsePayload,
  trafficSummary,
  versionText
} from '../endpoints/format';
import { ENDPOINT_NAME_PATTERN } from '../endpoints/types';
import { makeEndpoint, makeMetrics } from './fakeEndpointsClient';

describe('endpoint names', () => {
  it('suggests a DNS label from a variable name', () => {
    expect(defaultEndpointName('clf')).toBe('clf');
    expect(defaultEndpointName('churn_model')).toBe('churn-model');
    expect(defaultEndpointName('Churn_Model_V2')).toBe('churn-model-v2');
    expect(defaultEndpointName('_private__model_')).toBe('private-model');
    expect(defaultEndpointName('модель')).toBe('model');
    expect(defaultEndpointName('x'.repeat(80))).toHaveLength(63);
    // Cut at 63, no hyphen left at the end.
    expect(defaultEndpointName(`${'a'.repeat(62)}_b`)).toBe('a'.repeat(62));
    for (const name of ['clf', 'Churn_Model_V2', '__x__', 'a'.repeat(100)]) {
      expect(ENDPOINT_NAME_PATTERN.test(defaultEndpointName(name))).toBe(true);
    }
  });

  it('tells what is wrong with a name, as the server’s pattern does', () => {
    expect(endpointNameError('iris')).toBeNull();
    expect(endpointNameError('churn-v2')).toBeNull();
    expect(endpointNameError('a')).toBeNull();
    expect(endpointNameError('')).toMatch(/name/);
    expect(endpointNameError('Iris')).toMatch(/Lower-case/);
    expect(endpointNameError('-iris')).toMatch(/start or end/);
    expect(endpointNameError('iris-')).toMatch(/start or end/);
    expect(endpointNameError('iris_model')).toMatch(/Only lower-case/);
    expect(endpointNameError('a'.repeat(64))).toMatch(/At most 63/);
    expect(endpointNameError('a'.repeat(63))).toBeNull();
  });
});

describe('numbers', () => {
  it('writes rates, latencies, shares and scores short', () => {
    expect(formatRate(0)).toBe('0');
    expect(formatRate(0.05)).toBe('0.05');
    expect(formatRate(2.34)).toBe('2.3');
    expect(formatRate(41.2)).toBe('41');
    expect(formatRate(null)).toBe('–');
    expect(formatLatency(0.42)).toBe('0.4 ms');
    expect(formatLatency(12.4)).toBe('12 ms');
    expect(formatLatency(1340)).toBe('1.3 s');
    expect(formatLatency(null)).toBe('–');
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(0.004)).toBe('0.4 %');
    expect(formatPercent(0.12)).toBe('12 %');
    expect(formatPercent(null)).toBe('–');
    expect(formatScore(0.312)).toBe('0.31');
    expect(formatScore(1.24)).toBe('1.2');
  });

  it('says whether an endpoint drifted, and what it serves', () => {
    expect(isDrifted(makeEndpoint({ drift_score: null }))).toBeNull();
    expect(isDrifted(makeEndpoint({ drift_score: 0.1 }))).toBe(false);
    expect(isDrifted(makeEndpoint({ drift_score: 0.3 }))).toBe(true);
    expect(versionText(makeEndpoint())).toBe('v3');
    expect(
      versionText(makeEndpoint({ canary_version: 4, canary_percent: 10 }))
    ).toBe('v3 + canary v4 (10 %)');
  });
});

describe('traffic', () => {
  it('sums the last minute up for the catalogue', () => {
    const summary = trafficSummary(makeMetrics('iris', 1700003600, 12));
    // Six intervals of 10 s in the last minute, 20 requests each.
    expect(summary.requests).toBe(120);
    expect(summary.rate).toBe(2);
    expect(summary.p50).toBe(4);
    // The newest interval's p99.
    expect(summary.p99).toBe(12);
    // 2 of 120 requests failed (10 % of the last interval's 20).
    expect(summary.errorRate).toBeCloseTo(2 / 120);
  });

  it('has nothing to say without requests', () => {
    const summary = trafficSummary({ points: [], bucket_seconds: 10 });
    expect(summary).toMatchObject({
      rate: 0,
      requests: 0,
      p50: null,
      p99: null,
      errorRate: null
    });
  });

  it('puts an hour on a regular grid, quiet intervals filled', () => {
    const metrics = makeMetrics('iris', 1700003600, 3);
    const grid = metricsGrid(metrics, 1700003600);
    expect(grid).toHaveLength(360);
    expect(grid[359].t).toBe(1700003600);
    expect(grid[359].requests).toBe(20);
    expect(grid[0]).toMatchObject({ requests: 0, p50_ms: null, rate: 0 });
    expect(grid[1].t - grid[0].t).toBe(10);
  });

  it('spans a young endpoint’s life, an old one’s last hour', () => {
    const now = 1700003600;
    const quiet = { points: [] };
    expect(chartSpan(quiet, now - 60, now)).toBe(300);
    expect(chartSpan(quiet, now - 420, now)).toBe(600);
    expect(chartSpan(quiet, now - 1000, now)).toBe(1800);
    expect(chartSpan(quiet, now - 86400, now)).toBe(3600);
    expect(chartSpan(quiet, null, now)).toBe(3600);
    // Requests older than its start (a re-created endpoint) count too.
    expect(chartSpan(makeMetrics('iris', now - 600, 3), now - 60, now)).toBe(
      900
    );
    // At most `max` (a row's sparkline).
    expect(chartSpan(quiet, now - 86400, now, 900)).toBe(900);
    expect(axisTicks(3600)).toEqual([60, 45, 30, 15, 0]);
    expect(axisTicks(1800)).toEqual([30, 20, 10, 0]);
    expect(axisTicks(900)).toEqual([15, 10, 5, 0]);
    expect(axisTicks(600)).toEqual([10, 8, 6, 4, 2, 0]);
    expect(axisTicks(300)).toEqual([5, 4, 3, 2, 1, 0]);
  });

  it('draws lines with gaps, areas closed, scales round', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(0, 10)).toBe(10);
    expect(niceMax(3.2)).toBe(5);
    expect(niceMax(12)).toBe(20);
    expect(niceMax(0.004)).toBe(0.005);
    expect(linePath([0, 5, null, null, 10], 10)).toBe('M0,100L1,50M3.6,0L4,0');
    // A value alone between gaps: a short dash.
    expect(linePath([null, 5, null], 10)).toBe('M0.6,50L1.4,50');
    expect(areaPath([0, 10], 10)).toBe('M0,100L1,0L1,100L0,100Z');
    expect(
      versionShares([
        { by_version: { '3': 9, '4': 1 } },
        { by_version: { '3': 9, '4': 1 } }
      ] as any)
    ).toEqual([
      ['3', 0.9],
      ['4', 0.1]
    ]);
  });
});

describe('try-it payloads', () => {
  it('writes JSON compact for a narrow panel', () => {
    expect(
      compactJSON({
        inputs: [
          [1, 2],
          [3, 4]
        ]
      })
    ).toBe('{"inputs": [[1, 2], [3, 4]]}');
    const example = {
      dataframe_split: {
        columns: ['sepal length (cm)', 'sepal width (cm)'],
        data: [
          [5.1, 3.5],
          [4.9, 3]
        ]
      }
    };
    expect(compactJSON(example)).toBe(
      [
        '{',
        '  "dataframe_split": {',
        '    "columns": ["sepal length (cm)", "sepal width (cm)"],',
        '    "data": [[5.1, 3.5], [4.9, 3]]',
        '  }',
        '}'
      ].join('\n')
    );
    expect(JSON.parse(compactJSON(example))).toEqual(example);
    expect(compactJSON({ predictions: [0, 0, 1, 2, 2] })).toBe(
      '{"predictions": [0, 0, 1, 2, 2]}'
    );
    expect(compactJSON([], 0)).toBe('[]');
    expect(compactJSON('x'.repeat(60))).toBe(JSON.stringify('x'.repeat(60)));
  });

  it('takes a JSON object, and says why anything else is not one', () => {
    expect(parsePayload('{"inputs": [[1, 2]]}')).toEqual({
      payload: { inputs: [[1, 2]] }
    });
    expect(parsePayload('{"inputs": ')).toHaveProperty('error');
    expect((parsePayload('[1, 2]') as any).error).toMatch(/JSON object/);
  });
});
