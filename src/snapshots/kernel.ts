/**
 * Snapshots that need a notebook's kernel: saving its variables with a
 * snapshot (`%dataops snapshot --variables`) and loading them back
 * (`%dataops snapshots load`). The server never unpickles variables: only
 * the kernel can, so the UI runs the magic in the kernel instead of calling
 * the REST API.
 *
 * The code sent is built by pure functions (quoting for Python and for the
 * magic's shlex split), tested on their own.
 */
import { PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { Snapshot, SnapshotCreate } from './types';

/**
 * One word of a magic line, as `shlex.split` (POSIX) reads it back: as is
 * when it has only safe characters, else in single quotes, each single quote
 * written `'"'"'` (close, a double-quoted quote, reopen), as Python's
 * `shlex.quote` does.
 */
export function shellQuote(word: string): string {
  if (word === '') {
    return "''";
  }
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) {
    return word;
  }
  return `'${word.replace(/'/g, "'\"'\"'")}'`;
}

/**
 * A Python string literal for any text. JSON's escapes (`\"`, `\\`, `\n`,
 * `\u0000`, lone surrogates as `\udXXX`) mean the same in Python; U+2028 and
 * U+2029, which JSON leaves as they are, are escaped too.
 */
export function pythonString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u2028\u2029]/g,
    char => `\\u${char.charCodeAt(0).toString(16)}`
  );
}

/**
 * Python code that runs one `%dataops` line in a kernel: the extension
 * loaded first (quietly, unlike `%load_ext`, which prints when it already
 * is), and a trailing `;` so the magic's return value is not displayed.
 */
export function magicCode(line: string): string {
  return (
    'get_ipython().extension_manager.load_extension("jupyter_dataops"); ' +
    `get_ipython().run_line_magic("dataops", ${pythonString(line)});`
  );
}

/**
 * The `%dataops snapshot` line that takes a snapshot with the kernel's
 * variables, printing it as JSON. Data paths come after `--`, so one that
 * starts with `-` is still a path.
 */
export function takeMagicLine(
  request: Pick<SnapshotCreate, 'message' | 'paths' | 'init'>,
  kernelName?: string | null
): string {
  const words = ['snapshot', '--variables', '--json'];
  if (request.init) {
    words.push('--init');
  }
  if (kernelName) {
    words.push(`--kernel=${shellQuote(kernelName)}`);
  }
  if (request.message) {
    // `--message=…` in one word: a message starting with `-` is not an option.
    words.push(`--message=${shellQuote(request.message)}`);
  }
  if (request.paths && request.paths.length > 0) {
    words.push('--', ...request.paths.map(shellQuote));
  }
  return words.join(' ');
}

/** The `%dataops snapshots load` line for a snapshot's variables (or some). */
export function loadMagicLine(
  id: string,
  names: ReadonlyArray<string> = []
): string {
  return ['snapshots', 'load', shellQuote(id), ...names.map(shellQuote)].join(
    ' '
  );
}

/** The code that takes a snapshot with the kernel's variables. */
export function takeCode(
  request: Pick<SnapshotCreate, 'message' | 'paths' | 'init'>,
  kernelName?: string | null
): string {
  return magicCode(takeMagicLine(request, kernelName));
}

/** The code that loads a snapshot's saved variables into the kernel. */
export function loadCode(
  id: string,
  names: ReadonlyArray<string> = []
): string {
  return magicCode(loadMagicLine(id, names));
}

/**
 * The snapshot `%dataops snapshot --json` printed: the JSON object from the
 * first line that opens one (anything printed before it is left out).
 */
export function parseSnapshotOutput(stdout: string): Snapshot {
  const lines = stdout.split('\n');
  for (let index = 0; index < lines.length; index++) {
    if (!lines[index].startsWith('{')) {
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(lines.slice(index).join('\n'));
    } catch {
      continue;
    }
    if (
      value !== null &&
      typeof value === 'object' &&
      typeof (value as { id?: unknown }).id === 'string'
    ) {
      return value as Snapshot;
    }
  }
  throw new Error(
    stdout.trim()
      ? `The kernel did not print a snapshot: ${stdout.trim().slice(0, 200)}`
      : 'The kernel printed nothing.'
  );
}

/** What `%dataops snapshots load` printed: its first line, and the rest. */
export function loadReport(
  stdout: string,
  id: string,
  short: string
): { summary: string; details: string[] } {
  const lines = stdout
    .split('\n')
    .map(line => line.trimEnd())
    .filter(line => line.trim() !== '');
  const summary = (lines[0] ?? '').split(id).join(short);
  return { summary, details: lines.slice(1).map(line => line.trim()) };
}

/** Code a kernel ran failed: the exception's name and message. */
export class KernelCodeError extends Error {
  constructor(
    readonly ename: string,
    readonly evalue: string,
    readonly traceback: ReadonlyArray<string> = []
  ) {
    super(evalue ? `${ename}: ${evalue}` : ename);
    this.name = 'KernelCodeError';
  }

  /**
   * What to tell the user: a `UsageError`'s message as it is (the magic's
   * one-line message and hint), a missing jupyter-dataops in words.
   */
  get userMessage(): string {
    if (
      this.ename === 'ModuleNotFoundError' &&
      this.evalue.includes('jupyter_dataops')
    ) {
      return 'jupyter-dataops is not installed in this kernel’s environment: install it there to save or load variables.';
    }
    if (this.ename === 'UsageError') {
      return this.evalue;
    }
    return this.message;
  }
}

/** What code printed in a kernel. */
export interface IKernelOutput {
  stdout: string;
  stderr: string;
}

/**
 * Run code in a kernel, out of the notebook's history (no execution count,
 * no `_`), and gather what it printed, handing each piece to `onStream` as
 * it comes. Rejects with a `KernelCodeError` when the code raised, or the
 * kernel aborted it.
 */
export async function executeInKernel(
  kernel: Pick<Kernel.IKernelConnection, 'requestExecute'>,
  code: string,
  onStream?: (name: 'stdout' | 'stderr', text: string) => void
): Promise<IKernelOutput> {
  const future = kernel.requestExecute({
    code,
    silent: false,
    store_history: false,
    allow_stdin: false,
    stop_on_error: false
  });
  const output: IKernelOutput = { stdout: '', stderr: '' };
  future.onIOPub = message => {
    if (KernelMessage.isStreamMsg(message)) {
      const name = message.content.name === 'stdout' ? 'stdout' : 'stderr';
      output[name] += message.content.text;
      onStream?.(name, message.content.text);
    }
  };
  const reply = await future.done;
  const content = reply.content;
  if (content.status === 'error') {
    throw new KernelCodeError(
      content.ename,
      content.evalue,
      content.traceback ?? []
    );
  }
  if (content.status === 'aborted') {
    throw new KernelCodeError(
      'Aborted',
      'The kernel did not run it (an earlier cell failed, or it was interrupted).'
    );
  }
  return output;
}

/** Whether a kernel runs Python (from its spec, else its info). */
export async function isPythonKernel(
  kernel: Pick<Kernel.IKernelConnection, 'spec' | 'info'>,
  timeoutMs = 3000
): Promise<boolean> {
  const language = async (): Promise<string> => {
    const spec = await kernel.spec;
    if (spec?.language) {
      return spec.language;
    }
    return (await kernel.info).language_info?.name ?? '';
  };
  const timeout = new Promise<string>(resolve =>
    setTimeout(() => resolve(''), timeoutMs)
  );
  try {
    const name = await Promise.race([language(), timeout]);
    return name.toLowerCase() === 'python';
  } catch {
    return false;
  }
}

/** A notebook and its running kernel. */
export interface INotebookKernel {
  /** The notebook's file name, e.g. `analysis.ipynb`. */
  name: string;
  path: string;
  kernel: Kernel.IKernelConnection;
}

/**
 * The current notebook (the last one the user was in) and its kernel, if it
 * runs one; `changed` tells when that may have become another.
 */
export class CurrentNotebookKernel implements IDisposable {
  constructor(private _tracker: INotebookTracker) {
    _tracker.currentChanged.connect(this._onCurrentChanged, this);
    this._onCurrentChanged();
  }

  /** The current notebook and its kernel, or null without a live kernel. */
  get current(): INotebookKernel | null {
    return currentNotebookKernel(this._tracker.currentWidget);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._watch(null);
    Signal.clearData(this);
  }

  private _onCurrentChanged(): void {
    this._watch(this._tracker.currentWidget);
    this._check();
  }

  /** Follow a notebook's kernel and path. */
  private _watch(panel: NotebookPanel | null): void {
    if (this._panel) {
      this._panel.sessionContext.kernelChanged.disconnect(this._check, this);
      this._panel.sessionContext.statusChanged.disconnect(this._check, this);
      this._panel.context.pathChanged.disconnect(this._check, this);
    }
    this._panel = panel;
    if (panel) {
      panel.sessionContext.kernelChanged.connect(this._check, this);
      panel.sessionContext.statusChanged.connect(this._check, this);
      panel.context.pathChanged.connect(this._check, this);
    }
  }

  /** Tell when the notebook, its kernel or whether it is alive changed. */
  private _check(): void {
    const current = this.current;
    const key = current ? `${current.path}\n${current.kernel.id}` : '';
    if (key !== this._key) {
      this._key = key;
      this._changed.emit();
    }
  }

  private _panel: NotebookPanel | null = null;
  private _key = '';
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}

/** A notebook panel's running kernel, or null. */
export function currentNotebookKernel(
  panel: NotebookPanel | null
): INotebookKernel | null {
  if (!panel || panel.isDisposed) {
    return null;
  }
  const kernel = panel.sessionContext.session?.kernel ?? null;
  if (!kernel || kernel.isDisposed || kernel.status === 'dead') {
    return null;
  }
  const path = panel.context.path;
  return { name: PathExt.basename(path), path, kernel };
}
