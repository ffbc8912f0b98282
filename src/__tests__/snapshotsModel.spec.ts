import { JOB_EVENT_SCHEMA_ID } from '../jobs/types';
import { SnapshotsModel } from '../snapshots/model';
import { SNAPSHOT_EVENT_SCHEMA_ID } from '../snapshots/types';
import {
  FakeSnapshotsClient,
  makeSnapshot,
  makeWorkspace
} from './fakeSnapshotsClient';

const flush = (ms = 10) => new Promise(resolve => setTimeout(resolve, ms));

function snapshotEvent(data: object) {
  return { schema_id: SNAPSHOT_EVENT_SCHEMA_ID, ...data } as any;
}

function setup() {
  const client = new FakeSnapshotsClient();
  client.snapshots = [
    makeSnapshot({
      id: 'second000000',
      message: 'more sales',
      parent_id: 'first0000000',
      created_at: 1700000060,
      push_status: 'pending'
    }),
    makeSnapshot({ id: 'first0000000', message: 'raw sales' })
  ];
  client.workspace = makeWorkspace({
    latest_id: 'second000000',
    changed: false
  });
  const model = new SnapshotsModel({
    client,
    poll: false,
    refreshDelay: 0,
    workspaceDelay: 0
  });
  return { client, model };
}

describe('SnapshotsModel', () => {
  it('lists snapshots newest first, with counts by status, and the project’s state', async () => {
    const { client, model } = setup();
    await model.refresh();
    expect(model.collection.items.map(item => item.id)).toEqual([
      'second000000',
      'first0000000'
    ]);
    expect(model.collection.counts).toEqual({ ready: 2 });
    expect(client.queries[0]).toMatchObject({ order: 'desc', limit: 25 });
    expect(model.workspace!.latest_id).toBe('second000000');
    expect(model.workspaceError).toBeNull();
    model.dispose();
  });

  it('follows snapshot events: push status and status, without older ones', async () => {
    const { client, model } = setup();
    await model.refresh();
    client.seq = 5;
    model.handleEvent(
      snapshotEvent({
        action: 'updated',
        id: 'second000000',
        seq: 5,
        status: 'ready',
        push_status: 'pushed'
      })
    );
    expect(model.getSummary('second000000')!.push_status).toBe('pushed');
    model.handleEvent(
      snapshotEvent({
        action: 'updated',
        id: 'second000000',
        seq: 4,
        push_status: 'failed'
      })
    );
    expect(model.getSummary('second000000')!.push_status).toBe('pushed');
    // Events of other collections are not its own.
    model.handleEvent({
      schema_id: JOB_EVENT_SCHEMA_ID,
      action: 'updated',
      id: 'second000000',
      seq: 6,
      status: 'failed'
    } as any);
    expect(model.getSummary('second000000')!.status).toBe('ready');
    model.dispose();
  });

  it('shows a snapshot being taken elsewhere as soon as its event comes, fetched by id', async () => {
    const { client, model } = setup();
    await model.refresh();
    const reads = client.workspaceReads;
    client.snapshots = [
      makeSnapshot({
        id: 'third0000000',
        status: 'creating',
        commit: null,
        created_at: 1700000120
      }),
      ...client.snapshots
    ];
    client.seq = 9;
    model.handleEvent(
      snapshotEvent({
        action: 'created',
        id: 'third0000000',
        seq: 9,
        status: 'creating',
        push_status: 'none'
      })
    );
    await flush(20);
    // One request for the snapshots events name, with the store's seq.
    expect(client.queries).toContainEqual({ id: ['third0000000'], limit: 1 });
    expect(client.gets).toEqual([]);
    expect(model.collection.seq).toBe(9);
    expect(model.getSummary('third0000000')!.status).toBe('creating');
    expect(model.collection.items[0].id).toBe('third0000000');
    // The newest snapshot moved: the project's state is asked for again.
    expect(client.workspaceReads).toBeGreaterThan(reads);
    model.dispose();
  });

  it('takes a snapshot, showing it under way, then asks for the project’s state', async () => {
    const { client, model } = setup();
    await model.refresh();
    let release: () => void = () => undefined;
    const gate = new Promise<void>(resolve => (release = resolve));
    const original = client.createSnapshot.bind(client);
    client.create = async request => {
      await gate;
      client.create = null;
      return original(request);
    };
    const seen: string[] = [];
    model.operationsChanged.connect(() =>
      seen.push(model.operations.map(item => item.kind).join(','))
    );
    const reads = client.workspaceReads;
    const pending = model.takeSnapshot({ message: 'third', init: false });
    expect(model.operations).toEqual([
      expect.objectContaining({ kind: 'take', id: null, message: 'third' })
    ]);
    release();
    const snapshot = await pending;
    expect(snapshot.message).toBe('third');
    expect(model.operations).toEqual([]);
    expect(seen).toEqual(['take', '']);
    expect(model.getSummary(snapshot.id)!.message).toBe('third');
    expect(model.getSnapshot(snapshot.id)!.data).toHaveLength(1);
    await flush();
    expect(client.workspaceReads).toBeGreaterThan(reads);
    expect(model.workspace!.latest_id).toBe(snapshot.id);
    model.dispose();
  });

  it('takes a snapshot through another taker (a kernel), shown the same way', async () => {
    const { client, model } = setup();
    await model.refresh();
    const taken = makeSnapshot({
      id: 'kernel000000',
      message: 'with variables',
      created_at: 1700000120
    });
    const asked: object[] = [];
    const pending = model.takeSnapshot(
      { message: 'with variables' },
      async request => {
        asked.push(request);
        client.snapshots = [taken, ...client.snapshots];
        client.seq++;
        return taken;
      }
    );
    expect(model.operations.map(item => item.kind)).toEqual(['take']);
    expect((await pending).id).toBe('kernel000000');
    expect(asked).toEqual([{ message: 'with variables' }]);
    // Not through the REST API.
    expect(client.creates).toEqual([]);
    expect(model.getSnapshot('kernel000000')!.message).toBe('with variables');
    expect(model.operations).toEqual([]);
    model.dispose();
  });

  it('ends the operation and passes the error on when taking fails', async () => {
    const { client, model } = setup();
    client.create = async () => {
      throw new Error('not yet a git and DVC repository');
    };
    await expect(model.takeSnapshot({ message: 'x' })).rejects.toThrow(
      'not yet a git and DVC repository'
    );
    expect(model.operations).toEqual([]);
    model.dispose();
  });

  it('restores: the list and the safety snapshot are fetched again', async () => {
    const { client, model } = setup();
    await model.refresh();
    const result = await model.restoreSnapshot('first0000000', {
      paths: ['data']
    });
    expect(client.restores).toEqual([['first0000000', { paths: ['data'] }]]);
    expect(result.safety_snapshot_id).toBeTruthy();
    await flush(20);
    expect(model.getSummary(result.safety_snapshot_id!)!.kind).toBe('safety');
    expect(model.operations).toEqual([]);
    model.dispose();
  });

  it('pushes now and records the answer', async () => {
    const { client, model } = setup();
    await model.refresh();
    const snapshot = await model.pushSnapshot('second000000');
    expect(client.pushes).toEqual(['second000000']);
    expect(snapshot.push_status).toBe('pushed');
    expect(model.getSummary('second000000')!.push_status).toBe('pushed');
    model.dispose();
  });

  it('asks once for the diff of two snapshots (it never changes)', async () => {
    const { client, model } = setup();
    const first = await model.diff('first0000000', 'second000000');
    const again = await model.diff('first0000000', 'second000000');
    expect(again).toBe(first);
    expect(client.diffs).toEqual([['first0000000', 'second000000']]);
    model.dispose();
  });

  it('shows why a snapshot or its push failed without fetching it in full', async () => {
    const { client, model } = setup();
    client.snapshots = [
      makeSnapshot({
        id: 'broken000000',
        status: 'failed',
        error: 'DVC could not version the data',
        commit: null
      }),
      makeSnapshot({
        id: 'unpushed0000',
        push_status: 'failed',
        push_error: 'remote unreachable'
      }),
      ...client.snapshots
    ];
    await model.refresh();
    await flush(20);
    expect(model.getSummary('broken000000')!.error).toBe(
      'DVC could not version the data'
    );
    expect(model.getSummary('unpushed0000')!.push_error).toBe(
      'remote unreachable'
    );
    expect(client.gets).toEqual([]);
    model.dispose();
  });

  it('fetches a full snapshot again when its status or push status moves', async () => {
    const { client, model } = setup();
    await model.refresh();
    await model.fetchSnapshot('second000000');
    const changed: string[] = [];
    model.snapshotChanged.connect((_, snapshot) =>
      changed.push(`${snapshot.id}:${snapshot.push_status}`)
    );
    client.set({ ...client.snapshots[0], push_status: 'pushed' });
    model.handleEvent(
      snapshotEvent({
        action: 'updated',
        id: 'second000000',
        seq: client.seq,
        status: 'ready',
        push_status: 'pushed'
      })
    );
    await flush(20);
    expect(client.gets.filter(id => id === 'second000000')).toHaveLength(2);
    expect(changed).toContain('second000000:pushed');
    model.dispose();
  });

  it('keeps why the project’s state could not be read', async () => {
    const { client, model } = setup();
    client.getWorkspace = async () => {
      throw new Error('server gone');
    };
    await expect(model.fetchWorkspace()).rejects.toThrow('server gone');
    expect(model.workspaceError!.message).toBe('server gone');
    model.workspaceMayHaveChanged();
    await flush();
    expect(model.workspaceError!.message).toBe('server gone');
    model.dispose();
  });

  it('asks for the project’s state once for a burst of changes', async () => {
    const { client, model } = setup();
    const reads = client.workspaceReads;
    model.workspaceMayHaveChanged();
    model.workspaceMayHaveChanged();
    model.workspaceMayHaveChanged();
    await flush(20);
    expect(client.workspaceReads).toBe(reads + 1);
    model.dispose();
  });

  it('lists ready snapshots for choosing one, whatever the filters', async () => {
    const { client, model } = setup();
    model.collection.setQuery({ kind: ['safety'] });
    const ready = await model.listReady(10);
    expect(ready.map(item => item.id)).toEqual([
      'second000000',
      'first0000000'
    ]);
    expect(client.queries[client.queries.length - 1]).toEqual({
      status: ['ready'],
      order: 'desc',
      limit: 10
    });
    model.dispose();
  });

  it('forgets a snapshot that is gone', async () => {
    const { client, model } = setup();
    await model.refresh();
    client.snapshots = client.snapshots.slice(1);
    expect(await model.fetchSnapshot('second000000')).toBeNull();
    expect(model.collection.has('second000000')).toBe(false);
    model.dispose();
  });
});
