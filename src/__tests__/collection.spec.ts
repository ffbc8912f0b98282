/**
 * The generic collection model, tested with an item type that is not a job:
 * nothing in it may depend on jobs.
 */
import { nullTranslator } from '@jupyterlab/translation';

import { DataOpsApiError } from '../api';
import {
  CollectionModel,
  ICollectionPage,
  ICollectionQuery,
  pageRangeText,
  parseCollectionEvent
} from '../collection';

const trans = nullTranslator.load('jupyter-dataops');

const SCHEMA = 'https://events.example.org/thing/v1';

interface IThing {
  key: string;
  state: 'new' | 'busy' | 'done';
  size: number;
}

interface IThingQuery extends ICollectionQuery {
  state?: IThing['state'][];
}

/** Key order, keyset paging with cursors, as the DataOps server pages. */
class FakeServer {
  things: IThing[] = [];
  seq = 1;
  queries: IThingQuery[] = [];
  fail: DataOpsApiError | null = null;
  failAlways = false;
  /** Answers held back until released, to reorder responses. */
  hold: Promise<void> | null = null;

  async list(query: IThingQuery): Promise<ICollectionPage<IThing>> {
    this.queries.push({ ...query });
    const seq = this.seq;
    const snapshot = this.things.map(thing => ({ ...thing }));
    if (this.hold) {
      await this.hold;
    }
    if (this.fail) {
      const error = this.fail;
      if (!this.failAlways) {
        this.fail = null;
      }
      throw error;
    }
    let rows = snapshot.sort((a, b) => a.key.localeCompare(b.key));
    const counts: { [state: string]: number } = {};
    for (const row of rows) {
      counts[row.state] = (counts[row.state] ?? 0) + 1;
    }
    if (query.id?.length) {
      rows = rows.filter(row => query.id!.includes(row.key));
    }
    if (query.state?.length) {
      rows = rows.filter(row => query.state!.includes(row.state));
    }
    const total = rows.length;
    const limit = query.limit ?? 50;
    const cursor = query.cursor ? JSON.parse(query.cursor) : null;
    let page: IThing[];
    let more: boolean;
    if (cursor?.d === 'prev') {
      const before = rows.filter(row => row.key < cursor.k);
      page = before.slice(-limit);
      more = before.length > limit;
    } else {
      const after = cursor ? rows.filter(row => row.key > cursor.k) : rows;
      page = after.slice(0, limit);
      more = after.length > limit;
    }
    const enc = (row: IThing, d: string) => JSON.stringify({ k: row.key, d });
    let next: string | null = null;
    let prev: string | null = null;
    if (page.length) {
      if (cursor?.d === 'prev') {
        prev = more ? enc(page[0], 'prev') : null;
        next = enc(page[page.length - 1], 'next');
      } else {
        next = more ? enc(page[page.length - 1], 'next') : null;
        prev = cursor ? enc(page[0], 'prev') : null;
      }
    }
    return {
      items: page,
      next_cursor: next,
      prev_cursor: prev,
      total,
      total_is_estimate: total > 1000,
      counts,
      seq
    };
  }

  /** Change a thing as the store would: a new seq. */
  change(key: string, changes: Partial<IThing>): number {
    this.things = this.things.map(thing =>
      thing.key === key ? { ...thing, ...changes } : thing
    );
    return ++this.seq;
  }
}

function things(count: number, state: IThing['state'] = 'done'): IThing[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `t${String(i).padStart(4, '0')}`,
    state,
    size: i
  }));
}

function event(data: object) {
  return { schema_id: SCHEMA, ...data } as any;
}

const flush = (ms = 5) => new Promise(resolve => setTimeout(resolve, ms));

function setup(
  items: IThing[],
  options: Partial<CollectionModel.IOptions<IThing, IThingQuery>> = {}
) {
  const server = new FakeServer();
  server.things = items;
  const model = new CollectionModel<IThing, IThingQuery>({
    fetch: query => server.list(query),
    idField: 'key',
    eventSchemaId: SCHEMA,
    query: { limit: 25 },
    poll: false,
    refreshDelay: 0,
    ...options
  });
  const changes: { id: string; previous?: IThing; current: IThing | null }[] =
    [];
  model.itemChanged.connect((_, change) => changes.push(change));
  return { server, model, changes };
}

describe('parseCollectionEvent', () => {
  it('reads events of its schema with an action, an id and a seq', () => {
    expect(
      parseCollectionEvent(
        event({ action: 'updated', id: 'a', seq: 3, state: 'busy' }),
        SCHEMA
      )
    ).toMatchObject({ action: 'updated', id: 'a', seq: 3, state: 'busy' });
  });

  it('ignores other schemas and malformed events', () => {
    expect(
      parseCollectionEvent(
        { schema_id: 'https://other/v1', action: 'updated', id: 'a', seq: 1 },
        SCHEMA
      )
    ).toBeNull();
    expect(
      parseCollectionEvent(
        event({ action: 'exploded', id: 'a', seq: 1 }),
        SCHEMA
      )
    ).toBeNull();
    expect(
      parseCollectionEvent(event({ action: 'updated', id: 'a' }), SCHEMA)
    ).toBeNull();
    expect(
      parseCollectionEvent(
        event({ action: 'updated', job_id: 'a', seq: 2 }),
        SCHEMA
      )
    ).toBeNull();
    expect(
      parseCollectionEvent(
        event({ action: 'updated', id: 'a', seq: 0 }),
        SCHEMA
      )
    ).toBeNull();
  });
});

describe('CollectionModel', () => {
  it('loads the first page with its total and counts', async () => {
    const { model } = setup([
      { key: 'a', state: 'done', size: 1 },
      { key: 'b', state: 'new', size: 2 }
    ]);
    const changed = jest.fn();
    model.changed.connect(changed);
    await model.refresh();
    expect(model.ready).toBe(true);
    expect(model.items.map(item => item.key)).toEqual(['a', 'b']);
    expect(model.total).toBe(2);
    expect(model.totalIsEstimate).toBe(false);
    expect(model.counts).toEqual({ done: 1, new: 1 });
    expect(model.hasNext).toBe(false);
    expect(model.hasPrevious).toBe(false);
    expect(model.seq).toBe(1);
    expect(changed).toHaveBeenCalled();
  });

  it('pages by cursor, next and previous, keeping its position', async () => {
    const { model, server } = setup(things(60));
    await model.refresh();
    expect(model.items).toHaveLength(25);
    expect(model.offset).toBe(0);
    expect(model.hasNext).toBe(true);
    expect(model.hasPrevious).toBe(false);

    model.next();
    await flush();
    expect(server.queries.at(-1)!.cursor).toBe(
      JSON.stringify({ k: 't0024', d: 'next' })
    );
    expect(model.offset).toBe(25);
    expect(model.items[0].key).toBe('t0025');
    expect(model.hasPrevious).toBe(true);

    model.next();
    await flush();
    expect(model.offset).toBe(50);
    expect(model.items.map(item => item.key)).toEqual(
      things(60)
        .slice(50)
        .map(item => item.key)
    );
    expect(model.hasNext).toBe(false);

    model.previous();
    await flush();
    expect(model.offset).toBe(25);
    expect(model.items[0].key).toBe('t0025');
    expect(model.items.at(-1)!.key).toBe('t0049');

    model.previous();
    await flush();
    expect(model.offset).toBe(0);
    expect(model.items[0].key).toBe('t0000');
    expect(model.hasPrevious).toBe(false);
    // Back on the first page, refreshes ask for the top of the list.
    await model.refresh();
    expect(server.queries.at(-1)!.cursor).toBeUndefined();
  });

  it('goes back to the first page when filters, sort or size change', async () => {
    const { model, server } = setup([
      ...things(30, 'done'),
      { key: 'zz', state: 'new', size: 0 }
    ]);
    await model.refresh();
    model.next();
    await flush();
    expect(model.offset).toBe(25);
    model.setQuery({ state: ['new'] });
    expect(model.offset).toBe(0);
    await flush();
    const last = server.queries.at(-1)!;
    expect(last.cursor).toBeUndefined();
    expect(last.state).toEqual(['new']);
    expect(model.items.map(item => item.key)).toEqual(['zz']);
    model.setQuery({ limit: 0 });
    expect(model.query.limit).toBe(1);
  });

  it('starts again from the top when its page empties', async () => {
    const { model, server } = setup(things(30));
    await model.refresh();
    model.next();
    await flush();
    expect(model.items).toHaveLength(5);
    server.things = server.things.slice(0, 20);
    await model.refresh();
    await flush();
    expect(model.offset).toBe(0);
    expect(model.items[0].key).toBe('t0000');
  });

  it('says "about" when the server estimates the total, unless one page holds it all', async () => {
    const { model } = setup(things(1200));
    await model.refresh();
    expect(model.totalIsEstimate).toBe(true);
    expect(pageRangeText(model, trans)).toBe('1–25 of about 1,200');
    model.next();
    await flush();
    expect(pageRangeText(model, trans)).toBe('26–50 of about 1,200');
    const small = setup(things(3));
    await small.model.refresh();
    expect(pageRangeText(small.model, trans)).toBe('1–3 of 3');
    expect(
      pageRangeText(
        {
          ...small.model,
          items: small.model.items,
          totalIsEstimate: true,
          total: 9,
          offset: 0,
          hasNext: false,
          hasPrevious: false
        },
        trans
      )
    ).toBe('1–3 of 3');
    const empty = setup([]);
    await empty.model.refresh();
    expect(pageRangeText(empty.model, trans)).toBe('none');
  });

  it('moves an item between the counts when an event changes its facet', async () => {
    const { model, server } = setup(things(3, 'new'), {
      countKey: thing => thing.state,
      shouldRefetch: () => false
    });
    await model.refresh();
    expect(model.counts).toEqual({ new: 3 });
    const seq = server.change('t0000', { state: 'busy' });
    model.handleEvent(
      event({ action: 'updated', id: 't0000', seq, state: 'busy' })
    );
    expect(model.counts).toEqual({ new: 2, busy: 1 });
    model.handleEvent(event({ action: 'deleted', id: 't0001', seq: seq + 1 }));
    expect(model.counts).toEqual({ new: 1, busy: 1 });
    // An answer moves it too.
    model.put({ key: 't0002', state: 'done', size: 2 });
    expect(model.counts).toEqual({ new: 0, busy: 1, done: 1 });
    // A page older than what is known keeps the newer item, and counts it so.
    let release: () => void = () => undefined;
    server.hold = new Promise<void>(resolve => (release = resolve));
    server.things = server.things.filter(thing => thing.key !== 't0001');
    server.change('t0002', { state: 'new' });
    const stale = model.refresh();
    server.hold = null;
    const done = server.change('t0002', { state: 'done' });
    model.handleEvent(
      event({ action: 'updated', id: 't0002', seq: done, state: 'done' })
    );
    release();
    await stale;
    expect(model.items.map(item => item.state)).toEqual(['busy', 'done']);
    expect(model.counts).toEqual({ new: 0, busy: 1, done: 1 });
  });

  it('patches an item from an event without a request', async () => {
    const { model, server, changes } = setup(things(3, 'new'), {
      shouldRefetch: () => false
    });
    await model.refresh();
    const queries = server.queries.length;
    const seq = server.change('t0001', { state: 'busy' });
    expect(
      model.handleEvent(
        event({ action: 'updated', id: 't0001', seq, state: 'busy' })
      )
    ).toBe(true);
    expect(model.items[1].state).toBe('busy');
    expect(model.get('t0001')!.state).toBe('busy');
    expect(changes.at(-1)).toMatchObject({
      id: 't0001',
      previous: { state: 'new' },
      current: { state: 'busy' }
    });
    await flush();
    expect(server.queries.length).toBe(queries);
  });

  it('refetches the page once for a burst of events', async () => {
    const { model, server } = setup(things(3, 'new'), { refreshDelay: 20 });
    await model.refresh();
    const queries = server.queries.length;
    for (let i = 0; i < 5; i++) {
      const seq = server.change('t0000', { size: i });
      model.handleEvent(event({ action: 'updated', id: 't0000', seq }));
    }
    await flush(60);
    expect(server.queries.length).toBe(queries + 1);
  });

  it('never applies an older seq than the item reflects', async () => {
    const { model, server } = setup(things(2, 'new'));
    await model.refresh();
    // A page request leaves while the item is still new...
    let release: () => void = () => undefined;
    server.hold = new Promise<void>(resolve => (release = resolve));
    const stale = model.refresh();
    server.hold = null;
    // ...then the item changes and its event arrives before the page.
    const seq = server.change('t0000', { state: 'busy' });
    model.handleEvent(
      event({ action: 'updated', id: 't0000', seq, state: 'busy' })
    );
    release();
    await stale;
    expect(model.get('t0000')!.state).toBe('busy');
    expect(model.items[0].state).toBe('busy');
    // An event older than the item's state is dropped.
    model.handleEvent(
      event({ action: 'updated', id: 't0000', seq: seq - 1, state: 'new' })
    );
    expect(model.items[0].state).toBe('busy');
    // A newer page wins.
    server.change('t0000', { state: 'done' });
    await model.refresh();
    expect(model.items[0].state).toBe('done');
  });

  it('fetches items that events name but filters hide, so they can be found', async () => {
    const { model, server, changes } = setup(things(2, 'done'), {
      query: { state: ['done'], limit: 25 }
    });
    await model.refresh();
    server.things = [
      ...server.things,
      { key: 'hidden', state: 'new', size: 0 }
    ];
    const seq = ++server.seq;
    model.handleEvent(event({ action: 'created', id: 'hidden', seq }));
    await flush(20);
    expect(model.has('hidden')).toBe(false);
    expect(model.get('hidden')).toEqual({
      key: 'hidden',
      state: 'new',
      size: 0
    });
    expect(server.queries.some(query => query.id?.includes('hidden'))).toBe(
      true
    );
    expect(changes.find(change => change.id === 'hidden')).toMatchObject({
      previous: undefined,
      current: { state: 'new' }
    });
    // From now on its events patch it in place, like any known item.
    const next = server.change('hidden', { state: 'busy' });
    model.handleEvent(
      event({ action: 'updated', id: 'hidden', seq: next, state: 'busy' })
    );
    expect(model.get('hidden')!.state).toBe('busy');
    expect(model.items.map(item => item.key)).toEqual(['t0000', 't0001']);
  });

  it('removes deleted items and does not bring them back from an older page', async () => {
    const { model, server, changes } = setup(things(3));
    await model.refresh();
    let release: () => void = () => undefined;
    server.hold = new Promise<void>(resolve => (release = resolve));
    const stale = model.refresh();
    server.hold = null;
    server.things = server.things.filter(thing => thing.key !== 't0001');
    const seq = ++server.seq;
    model.handleEvent(event({ action: 'deleted', id: 't0001', seq }));
    expect(model.items.map(item => item.key)).toEqual(['t0000', 't0002']);
    expect(changes.at(-1)).toMatchObject({ id: 't0001', current: null });
    release();
    await stale;
    expect(model.items.map(item => item.key)).toEqual(['t0000', 't0002']);
    expect(model.get('t0001')).toBeUndefined();
  });

  it('keeps an item put from outside over an older page', async () => {
    const { model, server } = setup(things(2, 'new'));
    await model.refresh();
    let release: () => void = () => undefined;
    server.hold = new Promise<void>(resolve => (release = resolve));
    const stale = model.refresh();
    server.hold = null;
    model.put({ key: 't0000', state: 'busy', size: 0 });
    expect(model.items[0].state).toBe('busy');
    release();
    await stale;
    expect(model.items[0].state).toBe('busy');
    server.change('t0000', { state: 'done' });
    await model.refresh();
    expect(model.items[0].state).toBe('done');
  });

  it('does not let an answer to an older request undo a newer event', async () => {
    const { model, server } = setup(things(1, 'new'));
    await model.refresh();
    // A request leaves while the item is busy...
    server.change('t0000', { state: 'busy' });
    const since = model.seq;
    const answer = { key: 't0000', state: 'busy' as const, size: 0 };
    // ...the item is done, and its event arrives before the answer.
    const seq = server.change('t0000', { state: 'done' });
    model.handleEvent(
      event({ action: 'updated', id: 't0000', seq, state: 'done' })
    );
    model.put(answer, since);
    expect(model.items[0].state).toBe('done');
    // An answer to a request sent after the event wins over it.
    model.put({ ...answer, size: 5 }, model.seq);
    expect(model.items[0].size).toBe(5);
  });

  it('keeps an error with its hint, then clears it', async () => {
    const { model, server } = setup(things(1));
    server.fail = new DataOpsApiError({
      kind: 'backend_unavailable',
      status: 503,
      message: 'The store is down.',
      hint: 'Restart the server.'
    });
    await model.refresh();
    expect(model.error?.message).toBe('The store is down.');
    expect(model.error?.hint).toBe('Restart the server.');
    expect(model.loading).toBe(false);
    await model.refresh();
    expect(model.error).toBeNull();
    expect(model.items).toHaveLength(1);
  });

  it('ignores answers to outdated queries', async () => {
    const { model, server } = setup([
      { key: 'a', state: 'done', size: 0 },
      { key: 'b', state: 'new', size: 0 }
    ]);
    let release: () => void = () => undefined;
    server.hold = new Promise<void>(resolve => (release = resolve));
    const first = model.refresh();
    server.hold = null;
    model.setQuery({ state: ['new'] });
    await flush();
    release();
    await first;
    expect(model.items.map(item => item.key)).toEqual(['b']);
  });

  it('backs off its fallback poll while the server fails, and recovers', async () => {
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.999);
    const { model, server } = setup(things(1), {
      poll: true,
      pollInterval: 20,
      maxPollInterval: 200
    });
    try {
      server.fail = new DataOpsApiError({
        kind: 'network',
        status: 0,
        message: 'Could not reach the Jupyter server.'
      });
      server.failAlways = true;
      const poll = model.poll!;
      const intervals: number[] = [];
      poll.ticked.connect((_, state) => {
        if (state.phase === 'rejected') {
          intervals.push(state.interval);
        }
      });
      for (let i = 0; i < 100 && intervals.length < 3; i++) {
        await flush(20);
      }
      expect(intervals.length).toBeGreaterThanOrEqual(3);
      expect(intervals[1]).toBeGreaterThan(intervals[0]);
      expect(intervals[2]).toBeGreaterThan(intervals[1]);
      expect(Math.max(...intervals)).toBeLessThanOrEqual(200);
      expect(model.error?.kind).toBe('network');

      server.fail = null;
      server.failAlways = false;
      for (let i = 0; i < 100 && poll.state.phase !== 'resolved'; i++) {
        await flush(20);
      }
      expect(poll.state.phase).toBe('resolved');
      expect(poll.state.interval).toBe(20);
      expect(model.error).toBeNull();
    } finally {
      random.mockRestore();
      model.dispose();
    }
  });

  it('stops everything on dispose', async () => {
    const { model, server } = setup(things(1));
    model.dispose();
    expect(model.isDisposed).toBe(true);
    expect(
      model.handleEvent(event({ action: 'created', id: 'x', seq: 9 }))
    ).toBe(true);
    await model.refresh();
    await flush();
    expect(model.ready).toBe(false);
    expect(server.queries).toHaveLength(0);
  });
});

describe('CollectionModel, a total that is an estimate', () => {
  it('asks again once, so the total settles when items stop changing', async () => {
    jest.useFakeTimers();
    try {
      let calls = 0;
      const model = new CollectionModel<{ id: string }, { limit: number }>({
        fetch: async () => {
          calls += 1;
          return {
            items: [{ id: 'a' }],
            next_cursor: null,
            prev_cursor: null,
            total: 1,
            total_is_estimate: calls === 1,
            counts: {},
            seq: calls
          };
        },
        idField: 'id',
        eventSchemaId: 'x',
        query: { limit: 10 },
        poll: false
      });
      await model.refresh();
      expect(model.totalIsEstimate).toBe(true);
      await jest.advanceTimersByTimeAsync(2000);
      expect(calls).toBe(2);
      expect(model.totalIsEstimate).toBe(false);
      await jest.advanceTimersByTimeAsync(5000);
      expect(calls).toBe(2); // exact now: no more asking
      model.dispose();
    } finally {
      jest.useRealTimers();
    }
  });
});
