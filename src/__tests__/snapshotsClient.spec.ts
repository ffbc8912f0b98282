import { DataOpsApiError } from '../api';
import {
  phaseOf,
  SnapshotsClient,
  snapshotSummaryOf
} from '../snapshots/client';
import { makeDiff, makeSnapshot, makeWorkspace } from './fakeSnapshotsClient';
import { fakeClient, ICall, json } from './http';

function setup(answer: (call: ICall) => Response) {
  const { api, calls } = fakeClient(answer);
  return { client: new SnapshotsClient(api), calls };
}

const BASE = 'http://localhost:8888/lab-base/dataops/api';

const PAGE = {
  items: [],
  next_cursor: null,
  prev_cursor: null,
  total: 0,
  total_is_estimate: false,
  counts: {},
  seq: 7
};

describe('SnapshotsClient', () => {
  it('lists snapshots with repeated filters and paging', async () => {
    const { client, calls } = setup(() => json(PAGE));
    const page = await client.listSnapshots({
      status: ['ready', 'failed'],
      kind: ['manual', 'safety'],
      order: 'desc',
      limit: 25,
      cursor: 'abc'
    });
    expect(page.seq).toBe(7);
    expect(calls[0].url).toBe(
      `${BASE}/snapshots?status=ready&status=failed&kind=manual&kind=safety&order=desc&limit=25&cursor=abc`
    );
    // Empty filters are left out.
    await client.listSnapshots({ status: [], kind: [], limit: 10 });
    expect(calls[1].url).toBe(`${BASE}/snapshots?limit=10`);
  });

  it('asks for snapshots by id with the list route, the id repeated', async () => {
    const known = makeSnapshot({ id: 'aaaa1111' });
    const { client, calls } = setup(() =>
      json({ ...PAGE, items: [snapshotSummaryOf(known)], total: 1, seq: 9 })
    );
    const page = await client.listSnapshots({
      id: ['aaaa1111', 'gone0000'],
      limit: 2
    });
    expect(calls.map(call => call.url)).toEqual([
      `${BASE}/snapshots?id=aaaa1111&id=gone0000&limit=2`
    ]);
    expect(page.items).toEqual([snapshotSummaryOf(known)]);
    // The store's seq, as for any page.
    expect(page.seq).toBe(9);
  });

  it('passes errors of the list on', async () => {
    const { client } = setup(() =>
      json({ error: 'forbidden', message: 'No', details: {} }, 403)
    );
    await expect(client.listSnapshots({ id: ['x'] })).rejects.toBeInstanceOf(
      DataOpsApiError
    );
  });

  it('takes a snapshot with its request as the body', async () => {
    const { client, calls } = setup(() => json(makeSnapshot(), 201));
    await client.createSnapshot({
      message: 'first',
      paths: ['data'],
      init: true
    });
    expect(calls[0].method).toBe('POST');
    expect(calls[0].url).toBe(`${BASE}/snapshots`);
    expect(JSON.parse(calls[0].body!)).toEqual({
      message: 'first',
      paths: ['data'],
      init: true
    });
  });

  it('reads and sets up the workspace', async () => {
    const { client, calls } = setup(() => json(makeWorkspace()));
    await client.getWorkspace();
    await client.initWorkspace();
    expect(calls.map(call => [call.method, call.url])).toEqual([
      ['GET', `${BASE}/snapshots/workspace`],
      ['POST', `${BASE}/snapshots/workspace`]
    ]);
  });

  it('diffs, restores, pushes and traces lineage', async () => {
    const { client, calls } = setup(call =>
      call.url.includes('/diff')
        ? json(makeDiff())
        : call.url.endsWith('/restore')
          ? json({
              snapshot_id: 'a',
              safety_snapshot_id: 's',
              files: [],
              data: [],
              verified: 0
            })
          : call.url.includes('/lineage/')
            ? json({
                root: { kind: 'snapshot', id: 'a', label: '', detail: {} },
                upstream: [],
                downstream: []
              })
            : json(makeSnapshot())
    );
    await client.diffSnapshots('a1b2', 'c3d4');
    await client.diffSnapshots('a1b2');
    await client.restoreSnapshot('a1b2', { paths: ['data/sales.csv'] });
    await client.pushSnapshot('a1b2');
    await client.getLineage('a1b2');
    await client.getSnapshot('a/b');
    expect(calls.map(call => [call.method, call.url])).toEqual([
      ['GET', `${BASE}/snapshots/diff?a=a1b2&b=c3d4`],
      ['GET', `${BASE}/snapshots/diff?a=a1b2`],
      ['POST', `${BASE}/snapshots/a1b2/restore`],
      ['POST', `${BASE}/snapshots/a1b2/push`],
      ['GET', `${BASE}/lineage/a1b2`],
      ['GET', `${BASE}/snapshots/a%2Fb`]
    ]);
    expect(JSON.parse(calls[2].body!)).toEqual({ paths: ['data/sales.csv'] });
  });

  it('makes a summary of a full snapshot, without what only the full one has', () => {
    const summary = snapshotSummaryOf(
      makeSnapshot({ status: 'creating', phase: 'hashing data' } as object)
    );
    for (const key of [
      'id',
      'message',
      'status',
      'author',
      'created_at',
      'parent_id',
      'commit',
      'size',
      'nfiles',
      'changed',
      'push_status',
      'kind',
      'error',
      'push_error'
    ]) {
      expect(summary).toHaveProperty(key);
    }
    for (const key of [
      'data',
      'profiles',
      'environment',
      'jobs',
      'variables',
      'push_attempts'
    ]) {
      expect(summary).not.toHaveProperty(key);
    }
    expect(phaseOf(summary)).toBe('hashing data');
    expect(phaseOf({ ...summary, status: 'ready' })).toBeNull();
  });
});
