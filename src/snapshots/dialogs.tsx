/**
 * The snapshot dialogs: take one (a message and data paths; in a project
 * that is not yet a git and DVC repository, what setting it up means and the
 * user's consent), and restore one (what a restore does, the safety snapshot
 * taken first, and optionally only some paths).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { formatTimestamp } from '../jobs/format';
import { formatBytes, parsePaths, shortId } from './format';
import { SnapshotCreate, SnapshotSummary, WorkspaceStatus } from './types';

/** "git and DVC": what is missing, in words. */
export function missingText(
  missing: ReadonlyArray<string>,
  trans: TranslationBundle
): string {
  if (missing.length === 0) {
    return '';
  }
  if (missing.length === 1) {
    return missing[0];
  }
  return trans.__(
    '%1 and %2',
    missing.slice(0, -1).join(', '),
    missing[missing.length - 1]
  );
}

/** What the take dialog's fields hold. */
export interface ITakeInput {
  message: string;
  paths: string;
  /** Also save the variables of the current notebook's kernel. */
  variables: boolean;
}

/** What the user chose in the take dialog. */
export interface ITakeChoice {
  request: SnapshotCreate;
  /** Take it in the notebook's kernel, with the kernel's variables. */
  variables: boolean;
}

/** The request a take dialog's input makes: `init` when the project is not set up. */
export function takeRequest(
  input: Pick<ITakeInput, 'message' | 'paths'>,
  workspace: Pick<WorkspaceStatus, 'ready'>
): SnapshotCreate {
  const request: SnapshotCreate = { message: input.message.trim() };
  const paths = parsePaths(input.paths);
  if (paths) {
    request.paths = paths;
  }
  if (!workspace.ready) {
    request.init = true;
  }
  return request;
}

/** What the take dialog shows besides its fields. */
export interface ITakeDialogOptions {
  workspace: WorkspaceStatus;
  /** The snapshot the project is now exactly, if any (nothing to record). */
  matching: SnapshotSummary | null;
  /**
   * The notebook whose running Python kernel can save its variables with
   * the snapshot (its file name), or null: no such notebook is current.
   */
  kernelNotebook?: string | null;
  initial?: Partial<ITakeInput>;
  trans: TranslationBundle;
}

/** The take dialog's form. */
export function TakeSnapshotForm(props: {
  workspace: WorkspaceStatus;
  matching: SnapshotSummary | null;
  kernelNotebook?: string | null;
  initial: ITakeInput;
  trans: TranslationBundle;
  onChange: (input: ITakeInput) => void;
}): JSX.Element {
  const { workspace, matching, kernelNotebook, trans, onChange } = props;
  const [input, setInput] = React.useState<ITakeInput>(props.initial);
  const update = (changes: Partial<ITakeInput>) => {
    const next = { ...input, ...changes };
    setInput(next);
    onChange(next);
  };
  const defaults = workspace.data_paths.join(', ');
  return (
    <div
      className="jp-DataOps-takeForm"
      data-ready={workspace.ready ? 'true' : 'false'}
    >
      {!workspace.ready && (
        <div
          className="jp-DataOps-alert jp-DataOps-alert-warn jp-DataOps-setupNote"
          role="note"
        >
          <div className="jp-DataOps-setupTitle">
            {trans.__(
              'This project is not yet a %1 repository.',
              missingText(workspace.missing, trans)
            )}
          </div>
          <div>
            {trans.__(
              'To take snapshots, DataOps sets it up in %1:',
              workspace.root
            )}
          </div>
          <ul className="jp-DataOps-setupList">
            {workspace.missing.some(item => item.toLowerCase() === 'git') && (
              <li>
                {trans.__(
                  'a git repository: snapshots are commits under their own refs; your branches, index and working tree are left alone'
                )}
              </li>
            )}
            {workspace.missing.some(item => item.toLowerCase() === 'dvc') && (
              <li>
                {trans.__(
                  'DVC: the data paths (%1) are versioned by content, in a cache, and pushed to a DVC remote',
                  defaults || trans.__('none')
                )}
              </li>
            )}
          </ul>
          <div className="jp-DataOps-hint">
            {trans.__(
              'Choose “Set up and take snapshot” to agree; nothing is changed otherwise.'
            )}
          </div>
        </div>
      )}
      {workspace.ready && matching && (
        <div
          className="jp-DataOps-alert jp-DataOps-alert-info jp-DataOps-sameNote"
          role="note"
        >
          {trans.__(
            'Nothing changed since snapshot %1 (“%2”): a new one records the same project.',
            shortId(matching.id),
            matching.message || formatTimestamp(matching.created_at)
          )}
        </div>
      )}
      <div className="jp-DataOps-field">
        <label htmlFor="jp-DataOps-snapshotMessage">
          {trans.__('Message')}
        </label>
        <input
          id="jp-DataOps-snapshotMessage"
          className="jp-mod-styled"
          type="text"
          value={input.message}
          placeholder={trans.__(
            'What this snapshot is, e.g. “cleaned sales data”'
          )}
          onChange={event => update({ message: event.target.value })}
        />
      </div>
      <div className="jp-DataOps-field">
        <label htmlFor="jp-DataOps-snapshotPaths">
          {trans.__('Data paths (optional)')}
        </label>
        <input
          id="jp-DataOps-snapshotPaths"
          className="jp-mod-styled"
          type="text"
          value={input.paths}
          placeholder={defaults}
          onChange={event => update({ paths: event.target.value })}
        />
        <div className="jp-DataOps-help">
          {trans.__(
            'Comma-separated folders or files versioned with DVC; everything else is committed with git. Empty: %1.',
            defaults || trans.__('the project’s data paths')
          )}
        </div>
      </div>
      {kernelNotebook && (
        <div className="jp-DataOps-field jp-DataOps-variablesField">
          <label className="jp-DataOps-checkLabel">
            <input
              id="jp-DataOps-snapshotVariables"
              type="checkbox"
              checked={input.variables}
              onChange={event => update({ variables: event.target.checked })}
            />
            <span>
              {trans.__(
                'Also save the variables of %1’s kernel',
                kernelNotebook
              )}
            </span>
          </label>
          <div className="jp-DataOps-help">
            {trans.__(
              'The kernel pickles them itself, up to %1 in all; what it cannot pickle is skipped and named. Load them back from the snapshot’s detail.',
              formatBytes(workspace.max_variable_bytes, trans)
            )}
          </div>
        </div>
      )}
    </div>
  );
}

/** The take dialog's body: the form, and what it holds. */
export class TakeSnapshotBody
  extends ReactWidget
  implements Dialog.IBodyWidget<ITakeInput>
{
  constructor(private _props: ITakeDialogOptions) {
    super();
    this._input = {
      message: '',
      paths: '',
      variables: false,
      ..._props.initial
    };
    this.addClass('jp-DataOps-takeDialog');
  }

  getValue(): ITakeInput {
    return this._input;
  }

  render(): JSX.Element {
    return (
      <TakeSnapshotForm
        workspace={this._props.workspace}
        matching={this._props.matching}
        kernelNotebook={this._props.kernelNotebook}
        initial={this._input}
        trans={this._props.trans}
        onChange={input => {
          this._input = input;
        }}
      />
    );
  }

  private _input: ITakeInput;
}

/**
 * Ask what to snapshot; in a project that is not set up, ask to set it up
 * too; with a notebook's kernel running, whether to save its variables.
 * Resolves with the choice, or null if the user cancelled.
 */
export async function openTakeDialog(
  options: ITakeDialogOptions
): Promise<ITakeChoice | null> {
  const { workspace, trans } = options;
  const result = await showDialog<ITakeInput>({
    title: workspace.ready
      ? trans.__('Take a snapshot')
      : trans.__('Set up snapshots'),
    body: new TakeSnapshotBody(options),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({
        label: workspace.ready
          ? trans.__('Take snapshot')
          : trans.__('Set up and take snapshot')
      })
    ],
    focusNodeSelector: '#jp-DataOps-snapshotMessage'
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  return {
    request: takeRequest(result.value, workspace),
    variables: !!options.kernelNotebook && result.value.variables
  };
}

/** The restore dialog's form: what happens, and which paths. */
function RestoreForm(props: {
  snapshot: SnapshotSummary;
  initialPaths: string;
  trans: TranslationBundle;
  onChange: (paths: string) => void;
}): JSX.Element {
  const { snapshot, trans } = props;
  const [paths, setPaths] = React.useState(props.initialPaths);
  return (
    <div className="jp-DataOps-restoreForm">
      <p>
        {snapshot.message
          ? trans.__(
              'Make the project what snapshot %1 (“%2”, %3) recorded?',
              shortId(snapshot.id),
              snapshot.message,
              formatTimestamp(snapshot.created_at)
            )
          : trans.__(
              'Make the project what snapshot %1 (%2) recorded?',
              shortId(snapshot.id),
              formatTimestamp(snapshot.created_at)
            )}
      </p>
      <div className="jp-DataOps-alert jp-DataOps-alert-info" role="note">
        {trans.__(
          'A safety snapshot of the project as it is now is taken first: restore it to undo this.'
        )}
      </div>
      <p className="jp-DataOps-help">
        {trans.__(
          'Files that differ are overwritten and files added since are removed; data files are checked against their hashes. Save open notebooks first: unsaved changes are in neither snapshot.'
        )}
      </p>
      <div className="jp-DataOps-field">
        <label htmlFor="jp-DataOps-restorePaths">
          {trans.__('Only these paths (optional)')}
        </label>
        <input
          id="jp-DataOps-restorePaths"
          className="jp-mod-styled"
          type="text"
          value={paths}
          placeholder={trans.__('e.g. data/sales.csv, notebooks/')}
          onChange={event => {
            setPaths(event.target.value);
            props.onChange(event.target.value);
          }}
        />
        <div className="jp-DataOps-help">
          {trans.__('Comma-separated; empty restores the whole project.')}
        </div>
      </div>
    </div>
  );
}

class RestoreBody extends ReactWidget implements Dialog.IBodyWidget<string> {
  constructor(
    private _props: {
      snapshot: SnapshotSummary;
      paths: string;
      trans: TranslationBundle;
    }
  ) {
    super();
    this._paths = _props.paths;
    this.addClass('jp-DataOps-restoreDialog');
  }

  getValue(): string {
    return this._paths;
  }

  render(): JSX.Element {
    return (
      <RestoreForm
        snapshot={this._props.snapshot}
        initialPaths={this._paths}
        trans={this._props.trans}
        onChange={paths => {
          this._paths = paths;
        }}
      />
    );
  }

  private _paths: string;
}

/**
 * Ask before restoring a snapshot, optionally only some paths. Null if the
 * user cancelled, else the paths (null for the whole project).
 */
export async function confirmRestore(
  snapshot: SnapshotSummary,
  trans: TranslationBundle,
  paths: ReadonlyArray<string> = []
): Promise<{ paths: string[] | null } | null> {
  const result = await showDialog<string>({
    title: trans.__('Restore snapshot %1?', shortId(snapshot.id)),
    body: new RestoreBody({ snapshot, paths: paths.join(', '), trans }),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: trans.__('Restore') })
    ]
  });
  if (!result.button.accept) {
    return null;
  }
  return { paths: parsePaths(result.value ?? '') };
}

/** Show a kernel's full report (or error) in a dialog, as it printed it. */
export async function showKernelReport(
  title: string,
  text: string,
  trans: TranslationBundle
): Promise<void> {
  const body = ReactWidget.create(
    <pre className="jp-DataOps-kernelReport">{text}</pre>
  );
  await showDialog({
    title,
    body,
    buttons: [Dialog.okButton({ label: trans.__('Close') })]
  });
}
