/**
 * Publishing a model from a notebook's kernel: only the kernel holds the
 * model object, so the UI asks the kernel which variables the active cell
 * defined (`jupyter_dataops.publishing.print_candidates`), then runs
 * `%dataops publish … --json` there, following the phases the magic writes
 * to stderr (`dataops: registering version 3 of churn`).
 *
 * The code sent is built by pure functions (quoting for Python and for the
 * magic's shlex split), tested on their own.
 */
import { Kernel } from '@jupyterlab/services';

import {
  executeInKernel,
  KernelCodeError,
  magicCode,
  pythonString,
  shellQuote
} from '../snapshots/kernel';
import { Publication } from './types';

/** A kernel variable that can be published, and the MLflow flavour that logs it. */
export interface IModelCandidate {
  name: string;
  /** Its Python type, e.g. `LogisticRegression`. */
  type: string;
  /** The MLflow flavour, e.g. `sklearn`. */
  flavor: string;
  /** Whether the active cell defined it (else an earlier cell did). */
  in_cell: boolean;
}

/** A kernel variable that can serve as the model's input example. */
export interface IExampleCandidate {
  name: string;
  type: string;
  /** Its shape, e.g. `[150, 4]`, when it has one. */
  shape: number[] | null;
}

/** What the kernel offers to publish. */
export interface ICandidates {
  models: IModelCandidate[];
  examples: IExampleCandidate[];
}

/** The code that prints the candidates of a cell as one JSON line. */
export function candidatesCode(cellSource: string): string {
  return (
    'import jupyter_dataops.publishing as _dp; ' +
    `_dp.print_candidates(get_ipython().user_ns, ${pythonString(cellSource)})`
  );
}

function isObject(value: unknown): value is { [key: string]: unknown } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A shape as a list of sizes: `[150, 4]` or `'150x4'` (null: none). */
function shapeOf(value: unknown): number[] | null {
  if (Array.isArray(value) && value.every(size => typeof size === 'number')) {
    return value as number[];
  }
  if (
    typeof value === 'string' &&
    /^\d+(\s*[x×,]\s*\d+)*$/.test(value.trim())
  ) {
    return value
      .trim()
      .split(/\s*[x×,]\s*/)
      .map(Number);
  }
  return null;
}

/**
 * The candidates `print_candidates` printed: the last stdout line that is a
 * JSON object with `models` (anything else printed is left out); entries
 * without a name are dropped, missing fields filled.
 */
export function parseCandidates(stdout: string): ICandidates {
  const lines = stdout
    .split('\n')
    .map(line => line.trim())
    .filter(line => line.startsWith('{'));
  for (const line of lines.reverse()) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (!isObject(value) || !Array.isArray(value.models)) {
      continue;
    }
    const text = (item: { [key: string]: unknown }, key: string) =>
      typeof item[key] === 'string' ? (item[key] as string) : '';
    const models = value.models
      .filter(isObject)
      .filter(item => text(item, 'name'))
      .map(item => ({
        name: text(item, 'name'),
        type: text(item, 'type'),
        flavor: text(item, 'flavor'),
        in_cell: item.in_cell === true
      }));
    const examples = (Array.isArray(value.examples) ? value.examples : [])
      .filter(isObject)
      .filter(item => text(item, 'name'))
      .map(item => ({
        name: text(item, 'name'),
        type: text(item, 'type'),
        shape: shapeOf(item.shape)
      }));
    return { models, examples };
  }
  throw new Error(
    stdout.trim()
      ? `The kernel did not list candidates: ${stdout.trim().slice(0, 200)}`
      : 'The kernel printed nothing.'
  );
}

/** The model the dialog offers first: one the cell defined, else the first. */
export function defaultModel(
  candidates: ReadonlyArray<IModelCandidate>
): IModelCandidate | null {
  return candidates.find(item => item.in_cell) ?? candidates[0] ?? null;
}

/** `150 × 4`, or `''` for no shape. */
export function shapeText(shape: ReadonlyArray<number> | null): string {
  return shape && shape.length > 0 ? shape.join(' × ') : '';
}

/** The slice the input example takes by default: its first five rows. */
export const DEFAULT_EXAMPLE_SLICE = '[:5]';

/** An input example's expression: the variable and its slice, `X[:5]`. */
export function exampleExpression(variable: string, slice: string): string {
  return `${variable}${slice.trim()}`;
}

/** What the publish dialog sends to the magic. */
export interface IPublishChoice {
  /** The kernel variable holding the model. */
  variable: string;
  /** The endpoint's name. */
  name: string;
  /** A Python expression for the input example, or null for none. */
  example: string | null;
  /** The alias that marks the version served (empty: the magic's default). */
  alias: string;
  /** Serve it as a canary to this share of requests, or null to replace. */
  canary: number | null;
  /**
   * The address to listen on (`--host`), e.g. `0.0.0.0` for all interfaces
   * (a token is then required); null or left out: the endpoint's own, or
   * for a new one the server's default (`c.DataOps.endpoint_host`).
   */
  host?: string | null;
  /**
   * Where to serve it (`--on`): one of the server's targets
   * (`ModelSettings.targets`); null or left out: where the endpoint is
   * served now, for a new one the server's default.
   */
  target?: string | null;
}

/**
 * The `%dataops publish` line: `publish clf --name iris --example 'X[:5]'
 * --alias production --host 0.0.0.0 --json`, every word quoted for shlex.
 */
export function publishMagicLine(choice: IPublishChoice): string {
  const words = [
    'publish',
    shellQuote(choice.variable),
    '--name',
    shellQuote(choice.name)
  ];
  if (choice.example) {
    words.push('--example', shellQuote(choice.example));
  }
  if (choice.alias.trim()) {
    words.push('--alias', shellQuote(choice.alias.trim()));
  }
  if (choice.canary !== null) {
    words.push('--canary', String(Math.round(choice.canary)));
  }
  if (choice.host?.trim()) {
    words.push('--host', shellQuote(choice.host.trim()));
  }
  if (choice.target?.trim()) {
    words.push('--on', shellQuote(choice.target.trim()));
  }
  words.push('--json');
  return words.join(' ');
}

/** The code that publishes a model from the kernel. */
export function publishCode(choice: IPublishChoice): string {
  return magicCode(publishMagicLine(choice));
}

/** The steps publishing goes through, as the magic's phases name them. */
export const PUBLISH_STEPS = 4;

/**
 * Which step a phase line is (1: logging the model, 2: registering a
 * version, 3: starting the endpoint, 4: waiting for its first answer), or
 * null for one the UI does not know.
 */
export function phaseStep(phase: string): number | null {
  const text = phase.toLowerCase();
  if (text.startsWith('logging')) {
    return 1;
  }
  if (text.startsWith('registering')) {
    return 2;
  }
  if (text.startsWith('starting') || text.startsWith('updating')) {
    return 3;
  }
  if (text.startsWith('waiting')) {
    return 4;
  }
  return null;
}

/** The prefix of the magic's phase lines on stderr. */
const PHASE_PREFIX = 'dataops: ';
const ERROR_PREFIX = 'dataops: error:';

/** Where publishing is: its phase, step, and the error if it failed. */
export interface IPublishProgress {
  /** The current phase, as the magic words it. */
  phase: string | null;
  /** The current step, 0 before the first phase. */
  step: number;
  /** The magic's error, `dataops: error:` left out. */
  error: string | null;
  /** Other lines it wrote to stderr (warnings), for the details. */
  log: string[];
}

/**
 * Reads the magic's stderr as it comes (chunks need not end lines): phase
 * lines move the progress on, an error line is kept, anything else logged.
 */
export class PhaseReader {
  get progress(): IPublishProgress {
    return this._progress;
  }

  /** Take a chunk of stderr; returns whether the progress changed. */
  feed(text: string): boolean {
    this._buffer += text;
    const lines = this._buffer.split(/\r?\n/);
    this._buffer = lines.pop() ?? '';
    let changed = false;
    for (const line of lines) {
      changed = this._line(line) || changed;
    }
    return changed;
  }

  /** The stream ended: a last line without a newline counts too. */
  end(): boolean {
    const rest = this._buffer;
    this._buffer = '';
    return rest ? this._line(rest) : false;
  }

  private _line(raw: string): boolean {
    const line = raw.trimEnd();
    if (!line.trim()) {
      return false;
    }
    const progress = this._progress;
    if (line.startsWith(ERROR_PREFIX)) {
      this._progress = {
        ...progress,
        error: line.slice(ERROR_PREFIX.length).trim()
      };
      return true;
    }
    if (line.startsWith(PHASE_PREFIX)) {
      const phase = line.slice(PHASE_PREFIX.length).trim();
      const step = phaseStep(phase);
      this._progress = {
        ...progress,
        phase,
        step: step === null ? progress.step : Math.max(progress.step, step)
      };
      return true;
    }
    this._progress = { ...progress, log: [...progress.log, line] };
    return false;
  }

  private _buffer = '';
  private _progress: IPublishProgress = {
    phase: null,
    step: 0,
    error: null,
    log: []
  };
}

/**
 * The publication `%dataops publish --json` printed: the last JSON object
 * with an `endpoint` that starts a line and runs to the end of stdout, on
 * one line or indented over many (anything printed before it is left out).
 */
export function parsePublication(stdout: string): Publication {
  const lines = stdout.trimEnd().split('\n');
  for (let index = lines.length - 1; index >= 0; index--) {
    if (!lines[index].trimStart().startsWith('{')) {
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(lines.slice(index).join('\n'));
    } catch {
      continue;
    }
    if (isObject(value) && isObject(value.endpoint)) {
      return value as unknown as Publication;
    }
  }
  throw new Error(
    stdout.trim()
      ? `The kernel did not print a publication: ${stdout.trim().slice(-200)}`
      : 'The kernel printed no publication.'
  );
}

/** Publishing failed: the magic's own message, and what else it wrote. */
export class PublishError extends Error {
  constructor(
    message: string,
    readonly log: ReadonlyArray<string> = []
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

/** What to tell the user when code in the kernel failed. */
export function kernelErrorText(reason: unknown): string {
  if (reason instanceof KernelCodeError) {
    if (
      reason.ename === 'ModuleNotFoundError' &&
      reason.evalue.includes('jupyter_dataops')
    ) {
      return 'jupyter-dataops is not installed in this kernel’s environment: install it there to publish models from it.';
    }
    if (reason.ename === 'UsageError') {
      return reason.evalue;
    }
    return reason.message;
  }
  return reason instanceof Error ? reason.message : String(reason);
}

/** Ask the kernel which variables of the cell can be published. */
export async function loadCandidates(
  kernel: Pick<Kernel.IKernelConnection, 'requestExecute'>,
  cellSource: string
): Promise<ICandidates> {
  const output = await executeInKernel(kernel, candidatesCode(cellSource));
  return parseCandidates(output.stdout);
}

/**
 * Publish a model from the kernel, telling each phase as the magic writes
 * it; rejects with a `PublishError` carrying the magic's message.
 */
export async function publishInKernel(
  kernel: Pick<Kernel.IKernelConnection, 'requestExecute'>,
  choice: IPublishChoice,
  onProgress: (progress: IPublishProgress) => void
): Promise<Publication> {
  const reader = new PhaseReader();
  let output: { stdout: string; stderr: string };
  try {
    output = await executeInKernel(
      kernel,
      publishCode(choice),
      (name, text) => {
        if (name === 'stderr' && reader.feed(text)) {
          onProgress(reader.progress);
        }
      }
    );
  } catch (reason) {
    reader.end();
    throw new PublishError(
      reader.progress.error ?? kernelErrorText(reason),
      reader.progress.log
    );
  }
  if (reader.end()) {
    onProgress(reader.progress);
  }
  if (reader.progress.error) {
    throw new PublishError(reader.progress.error, reader.progress.log);
  }
  try {
    return parsePublication(output.stdout);
  } catch (reason) {
    throw new PublishError((reason as Error).message, reader.progress.log);
  }
}
