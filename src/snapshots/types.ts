/**
 * The snapshot types, all derived from the generated OpenAPI types
 * (`src/openapi.d.ts`), and the runtime lists the UI needs, each checked at
 * compile time against the type it lists.
 */
import { allOf, Schemas } from '../api';
import { ICollectionEvent } from '../collection';

/** The schema id of the snapshot change events on the server's event bus. */
export const SNAPSHOT_EVENT_SCHEMA_ID =
  'https://events.jupyter-dataops.org/snapshot/v1';

/** States of a snapshot: `creating -> ready | failed`. */
export type SnapshotStatus = Schemas['SnapshotStatus'];

/** Every status, in the order the UI lists them. */
export const SNAPSHOT_STATUSES = allOf<SnapshotStatus>()([
  'creating',
  'ready',
  'failed'
]);

/** Whether a snapshot's data is on the DVC remote. */
export type PushStatus = Schemas['PushStatus'];

export const PUSH_STATUSES = allOf<PushStatus>()([
  'pending',
  'pushed',
  'failed',
  'none'
]);

/** Who took a snapshot: the user, a restore (to undo it), or a job (lineage). */
export type SnapshotKind = Schemas['SnapshotSummary']['kind'];

/** Every kind, in the order the UI lists them. */
export const SNAPSHOT_KINDS = allOf<SnapshotKind>()([
  'manual',
  'safety',
  'job'
]);

/** A snapshot in full: data, table profiles, environment, push state, jobs. */
export type Snapshot = Schemas['Snapshot'];

/** A snapshot as the list shows it. */
export type SnapshotSummary = Schemas['SnapshotSummary'];

/** One page of the snapshot list. */
export type SnapshotPage = Schemas['SnapshotPage'];

/** How to filter and page the snapshot list; `id` asks for those snapshots. */
export type SnapshotQuery = Schemas['SnapshotQuery'];

/** Take a snapshot: a message, data paths, and whether to set the project up. */
export type SnapshotCreate = Schemas['SnapshotCreate'];

/** Restore a snapshot, or some paths of it. */
export type SnapshotRestore = Schemas['SnapshotRestore'];

/** What a restore did, and the safety snapshot it took first. */
export type RestoreResult = Schemas['RestoreResult'];

/** What changed from one snapshot to another. */
export type SnapshotDiff = Schemas['SnapshotDiff'];

/** A file or data path added, deleted or modified. */
export type PathChange = Schemas['PathChange'];

export type PathChangeKind = PathChange['change'];

/** How a table changed: row count and columns. */
export type TableChange = Schemas['TableChange'];

/** How one column of a table changed. */
export type ColumnChange = Schemas['ColumnChange'];

export type ColumnChangeKind = ColumnChange['change'];

/** A package added, removed or changed version. */
export type PackageChange = Schemas['PackageChange'];

/** One data path a snapshot versions with DVC. */
export type DataEntry = Schemas['DataEntry'];

/** What a table holds: rows, columns and per-column statistics. */
export type TableProfile = Schemas['TableProfile'];

/** One column of a table profile. */
export type ColumnProfile = Schemas['ColumnProfile'];

/** The kernel variables a snapshot saved (and the ones it skipped, with why). */
export type VariablesSummary = Schemas['VariablesSummary'];

/** One kernel variable: saved (its pickled size) or skipped (why). */
export type VariableInfo = Schemas['VariableInfo-Output'];

/** The environment of the kernel a snapshot recorded. */
export type Environment = Schemas['Environment'];

/** Whether the project is set up for snapshots, and changed since the newest. */
export type WorkspaceStatus = Schemas['WorkspaceStatus'];

/** What produced a snapshot or job, and what used it. */
export type Lineage = Schemas['Lineage'];

export type LineageNode = Schemas['LineageNode'];

/**
 * A snapshot change event (schema `snapshot/v1`, described by
 * `jupyter_dataops/server/event_schemas/snapshot/v1.yaml`): the collection's
 * `{action, id, seq}` with the snapshot's status and push status after the
 * change.
 */
export type SnapshotEvent = ICollectionEvent & {
  status?: SnapshotStatus | null;
  push_status?: PushStatus | null;
};
