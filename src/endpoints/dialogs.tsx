/**
 * The endpoint dialogs: publish a model a notebook cell trained (pick the
 * variable, name the endpoint, choose an input example, an alias, maybe a
 * canary share, and where to serve it; then follow the kernel's progress and
 * get the URL, the snippets and how to get the token if one is required),
 * and confirm deleting an endpoint.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { errorText } from '../api';
import { CopyButton } from './badges';
import { SnippetTabs } from './detail';
import {
  defaultEndpointName,
  endpointNameError,
  formatSeconds
} from './format';
import {
  DEFAULT_EXAMPLE_SLICE,
  defaultModel,
  exampleExpression,
  ICandidates,
  IPublishChoice,
  IPublishProgress,
  PUBLISH_STEPS,
  PublishError,
  shapeText
} from './kernel';
import { Endpoint, ModelSettings, Publication, Snippets } from './types';

/** The alias publishing points at the new version by default. */
export const DEFAULT_ALIAS = 'production';

/** The "other expression" choice of the example select. */
const OTHER_EXAMPLE = '\u0000other';
/** The "no example" choice of the example select. */
const NO_EXAMPLE = '\u0000none';

/** The address an endpoint on loopback listens on. */
export const LOOPBACK_HOST = '127.0.0.1';
/** The address an endpoint on all interfaces listens on. */
export const ALL_INTERFACES_HOST = '0.0.0.0';

/**
 * Where to serve the model: this machine on loopback (no token), on all
 * interfaces (token required), as it is now (an existing endpoint on
 * another address), or the Kubernetes cluster (when the server's endpoints
 * run there; else shown disabled, so users see where it would be).
 */
export type ServeTarget = 'loopback' | 'all' | 'current' | 'kubernetes';

/** The server's target (`ModelSettings.target`) that serves on a cluster. */
export const KUBERNETES_TARGET = 'kubernetes';
/** The target that serves endpoints as processes on the server's machine. */
export const LOCAL_TARGET = 'local';
/** The target that serves endpoints as KServe InferenceServices. */
export const KSERVE_TARGET = 'kserve';

/**
 * Where the server may serve endpoints: its default target and every target
 * a publish may name (`ModelSettings.target` and `.targets`).
 */
export interface IServeOffer {
  target: string;
  targets: ReadonlyArray<string>;
}

/** An offer, or the default target's name alone, or null while unknown. */
export type ServeOfferLike = IServeOffer | string | null | undefined;

/**
 * The offer that `value` stands for: a name alone offers just that target;
 * unknown (null) offers this machine.
 */
export function serveOffer(value: ServeOfferLike): IServeOffer {
  if (!value) {
    return { target: LOCAL_TARGET, targets: [LOCAL_TARGET] };
  }
  if (typeof value === 'string') {
    return { target: value, targets: [value] };
  }
  return {
    target: value.target,
    targets: value.targets.length ? [...value.targets] : [value.target]
  };
}

/** The offer in the server's model settings, or null if they have none. */
export function offerOf(
  settings: ModelSettings | null | undefined
): IServeOffer | null {
  if (typeof settings?.target !== 'string') {
    return null;
  }
  const targets = Array.isArray(settings.targets)
    ? settings.targets.filter(item => typeof item === 'string')
    : [];
  return { target: settings.target, targets };
}

/** The cluster target a publish may name (the first not this machine), or null. */
export function clusterTarget(offer: ServeOfferLike): string | null {
  return serveOffer(offer).targets.find(item => item !== LOCAL_TARGET) ?? null;
}

/** Whether a publish may serve on this machine. */
export function servesLocally(offer: ServeOfferLike): boolean {
  return serveOffer(offer).targets.includes(LOCAL_TARGET);
}

/**
 * Whether `target` (a target's name: `ModelSettings.target`,
 * `Endpoint.target`) serves on a cluster; null while unknown (then: this
 * machine).
 */
export function servesOnCluster(target: string | null | undefined): boolean {
  return !!target && target !== LOCAL_TARGET;
}

/**
 * Whether an address names this machine only (as the server's
 * `is_loopback`: `localhost`, `127.x.x.x`, `::1`).
 */
export function isLoopbackHost(host: string): boolean {
  const text = host
    .trim()
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  return (
    text === 'localhost' ||
    text === 'ip6-localhost' ||
    text === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(text)
  );
}

/** Where an endpoint is served now (a new one: loopback, the default). */
export function serveTargetOf(
  endpoint: Endpoint | undefined
): Exclude<ServeTarget, 'kubernetes'> {
  if (!endpoint || isLoopbackHost(endpoint.host)) {
    return 'loopback';
  }
  const host = endpoint.host.trim();
  return host === ALL_INTERFACES_HOST || host === '::' || host === '[::]'
    ? 'all'
    : 'current';
}

/**
 * Where the form serves the model (`offer`: where the server may serve; a
 * name alone is its only target): the cluster when nothing else is offered;
 * else what the user picked; else where the endpoint of that name is served
 * now (for a new one: the server's default). A pick that no longer fits the
 * name, "as now" for an endpoint that is not there, falls back the same way.
 */
export function chosenServeTarget(
  input: IPublishInput,
  current: Endpoint | undefined,
  offer: ServeOfferLike = null
): ServeTarget {
  const offered = serveOffer(offer);
  if (clusterTarget(offered)) {
    if (!servesLocally(offered)) {
      return 'kubernetes';
    }
    if (
      input.serveEdited
        ? input.serve === 'kubernetes'
        : current
          ? servesOnCluster(current.target)
          : servesOnCluster(offered.target)
    ) {
      return 'kubernetes';
    }
  }
  const now = serveTargetOf(current);
  if (
    !input.serveEdited ||
    input.serve === 'kubernetes' ||
    (input.serve === 'current' && now !== 'current')
  ) {
    return now;
  }
  return input.serve;
}

/**
 * The `--host` a serving choice sends: `0.0.0.0` for all interfaces;
 * `127.0.0.1` for a new endpoint on loopback (whatever an operator made the
 * server's default: the user chose loopback) or to move one back there; none
 * to keep an endpoint where it is, nor on the cluster (the server decides:
 * every endpoint there gets a token).
 */
export function serveHost(
  target: ServeTarget,
  current: Endpoint | undefined
): string | null {
  switch (target) {
    case 'all':
      return ALL_INTERFACES_HOST;
    case 'loopback':
      return current && isLoopbackHost(current.host) ? null : LOOPBACK_HOST;
    default:
      return null;
  }
}

/** What the publish form's fields hold. */
export interface IPublishInput {
  variable: string;
  name: string;
  /** Whether the user typed the name (else it follows the variable). */
  nameEdited: boolean;
  /** An example variable, `OTHER_EXAMPLE` or `NO_EXAMPLE`. */
  example: string;
  slice: string;
  /** The expression typed for another example. */
  expression: string;
  alias: string;
  canary: boolean;
  percent: number;
  /** Where to serve it (see `chosenServeTarget`). */
  serve: ServeTarget;
  /** Whether the user picked where (else it follows the endpoint's name). */
  serveEdited: boolean;
}

/** The form's first values for the kernel's candidates. */
export function initialPublishInput(candidates: ICandidates): IPublishInput {
  const model = defaultModel(candidates.models);
  const example = candidates.examples[0]?.name ?? NO_EXAMPLE;
  return {
    variable: model?.name ?? '',
    name: model ? defaultEndpointName(model.name) : '',
    nameEdited: false,
    example,
    slice: DEFAULT_EXAMPLE_SLICE,
    expression: '',
    alias: DEFAULT_ALIAS,
    canary: false,
    percent: 10,
    serve: 'loopback',
    serveEdited: false
  };
}

/**
 * What the form asks the kernel to do, or the first thing wrong with it;
 * `current` is the endpoint of that name, if there is one; `offer` where the
 * server may serve endpoints (`ModelSettings`; a name alone: its only target;
 * null: unknown). With more than one target offered, the choice names its
 * own (`--on`): the server then serves, or moves, the endpoint there.
 */
export function publishChoice(
  input: IPublishInput,
  trans: TranslationBundle,
  current?: Endpoint,
  offer: ServeOfferLike = null
): { choice: IPublishChoice } | { error: string } {
  if (!input.variable) {
    return { error: trans.__('Choose the model to publish.') };
  }
  const nameError = endpointNameError(input.name, trans);
  if (nameError) {
    return { error: nameError };
  }
  let example: string | null;
  if (input.example === NO_EXAMPLE) {
    example = null;
  } else if (input.example === OTHER_EXAMPLE) {
    example = input.expression.trim() || null;
  } else {
    example = exampleExpression(input.example, input.slice);
  }
  if (
    input.alias.trim() &&
    !/^[A-Za-z][A-Za-z0-9_-]{0,99}$/.test(input.alias.trim())
  ) {
    return {
      error: trans.__(
        'An alias starts with a letter, then letters, digits, “_” or “-”.'
      )
    };
  }
  const offered = serveOffer(offer);
  const where = chosenServeTarget(input, current, offered);
  const host = serveHost(where, current);
  const on =
    offered.targets.length > 1
      ? where === 'kubernetes'
        ? clusterTarget(offered)
        : LOCAL_TARGET
      : null;
  return {
    choice: {
      variable: input.variable,
      name: input.name,
      example,
      alias: input.alias.trim(),
      canary: input.canary
        ? Math.max(1, Math.min(99, Math.round(input.percent)))
        : null,
      ...(host ? { host } : {}),
      ...(on ? { target: on } : {})
    }
  };
}

/** The steps of publishing, as the progress shows them. */
export function stepLabels(trans: TranslationBundle): string[] {
  return [
    trans.__('Log the model to MLflow'),
    trans.__('Register a version'),
    trans.__('Start the endpoint'),
    trans.__('Wait for its first answer')
  ];
}

export interface IPublishPanelProps {
  trans: TranslationBundle;
  /** The notebook whose kernel holds the model (its file name). */
  notebook: string;
  /** Ask the kernel for the cell's candidates. */
  loadCandidates: () => Promise<ICandidates>;
  /** Publish in the kernel, telling the progress as it comes. */
  publish: (
    choice: IPublishChoice,
    onProgress: (progress: IPublishProgress) => void
  ) => Promise<Publication>;
  /** The endpoints there are (publishing to one serves a new version there). */
  existing: (name: string) => Endpoint | undefined;
  /**
   * The server's model settings, asked when the dialog opens: their `target`
   * and `targets` tell where endpoints may be served (`kubernetes`: on the
   * cluster). The form does not wait for them; without them (none, failed),
   * this machine.
   */
  loadSettings?: () => Promise<ModelSettings>;
  loadSnippets: (name: string) => Promise<Snippets>;
  /** Show the endpoint in the sidebar. */
  onShow: (name: string) => void;
  onClose: () => void;
}

/**
 * How long publishing waits for the server's target when the form was sent
 * before it came (then: this machine, as when it cannot be read).
 */
export const SETTINGS_WAIT_MS = 3000;

type Stage =
  | { kind: 'loading' }
  | { kind: 'failed-loading'; message: string }
  | { kind: 'form'; error: string | null; log: ReadonlyArray<string> }
  | { kind: 'publishing'; progress: IPublishProgress }
  | { kind: 'done'; publication: Publication };

/** The publish dialog's body: the form, the progress, then the result. */
export function PublishPanel(props: IPublishPanelProps): JSX.Element {
  const { trans } = props;
  const [stage, setStage] = React.useState<Stage>({ kind: 'loading' });
  const [candidates, setCandidates] = React.useState<ICandidates | null>(null);
  const [input, setInput] = React.useState<IPublishInput | null>(null);
  // Where the server may serve endpoints (`ModelSettings`); null while
  // unknown, or if it could not be read. The ref is what publishing reads.
  const [offer, setOffer] = React.useState<IServeOffer | null>(null);
  const known = React.useRef<IServeOffer | null>(null);
  // The offer once the settings answer (or fail), while they have not: a
  // form sent before waits for it.
  const pendingTarget = React.useRef<Promise<IServeOffer | null> | null>(null);
  const mounted = React.useRef(true);
  React.useEffect(() => {
    mounted.current = true;
    if (props.loadSettings) {
      const pending = props.loadSettings().then(
        found => offerOf(found),
        () => null
      );
      pendingTarget.current = pending;
      void pending.then(found => {
        known.current = found;
        pendingTarget.current = null;
        if (mounted.current) {
          setOffer(found);
        }
      });
    }
    props
      .loadCandidates()
      .then(found => {
        if (!mounted.current) {
          return;
        }
        setCandidates(found);
        setInput(initialPublishInput(found));
        setStage({ kind: 'form', error: null, log: [] });
      })
      .catch(reason => {
        if (mounted.current) {
          setStage({
            kind: 'failed-loading',
            message: errorText(reason).message
          });
        }
      });
    return () => {
      mounted.current = false;
    };
  }, []);

  const run = (choice: IPublishChoice) => {
    props
      .publish(choice, progress => {
        if (mounted.current) {
          setStage({ kind: 'publishing', progress });
        }
      })
      .then(publication => {
        if (mounted.current) {
          setStage({ kind: 'done', publication });
        }
      })
      .catch(reason => {
        if (mounted.current) {
          setStage({
            kind: 'form',
            error: errorText(reason).message,
            log: reason instanceof PublishError ? reason.log : []
          });
        }
      });
  };

  const submit = () => {
    if (!input) {
      return;
    }
    const nameError = endpointNameError(input.name, trans);
    const current = nameError ? undefined : props.existing(input.name);
    const checked = publishChoice(input, trans, current, known.current);
    if ('error' in checked) {
      setStage({ kind: 'form', error: checked.error, log: [] });
      return;
    }
    setStage({
      kind: 'publishing',
      progress: { phase: null, step: 0, error: null, log: [] }
    });
    const pending = pendingTarget.current;
    if (!pending) {
      run(checked.choice);
      return;
    }
    // Sent before the server said where it serves endpoints: on a cluster,
    // no address goes to the magic. Wait for it, a while (then: as known).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<IServeOffer | null>(resolve => {
      timer = setTimeout(() => resolve(known.current), SETTINGS_WAIT_MS);
    });
    void Promise.race([pending, waited]).then(found => {
      clearTimeout(timer);
      const rechecked = publishChoice(input, trans, current, found);
      run('choice' in rechecked ? rechecked.choice : checked.choice);
    });
  };

  let body: JSX.Element;
  let buttons: JSX.Element;
  const cancel = (
    <button
      className="jp-Dialog-button jp-mod-reject jp-mod-styled"
      onClick={props.onClose}
    >
      <div className="jp-Dialog-buttonLabel">{trans.__('Cancel')}</div>
    </button>
  );
  switch (stage.kind) {
    case 'loading':
      body = (
        <div className="jp-DataOps-publishLoading">
          <div className="jp-DataOps-progressTrack jp-DataOps-indeterminate">
            <div className="jp-DataOps-progressBar" />
          </div>
          <div className="jp-DataOps-muted">
            {trans.__(
              'Asking %1’s kernel what the cell trained…',
              props.notebook
            )}
          </div>
        </div>
      );
      buttons = cancel;
      break;
    case 'failed-loading':
      body = (
        <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
          <div>{trans.__('Could not ask the kernel: %1', stage.message)}</div>
        </div>
      );
      buttons = cancel;
      break;
    case 'form':
      if (!candidates || !input || candidates.models.length === 0) {
        body = (
          <div className="jp-DataOps-alert jp-DataOps-alert-info" role="note">
            {trans.__(
              'No model in %1’s kernel yet. Run the cell that trains it (a scikit-learn estimator, say), then publish it.',
              props.notebook
            )}
          </div>
        );
        buttons = cancel;
        break;
      }
      body = (
        <PublishForm
          candidates={candidates}
          input={input}
          offer={offer}
          onChange={setInput}
          onSubmit={submit}
          existing={props.existing}
          error={stage.error}
          log={stage.log}
          trans={trans}
        />
      );
      buttons = (
        <>
          {cancel}
          <button
            className="jp-Dialog-button jp-mod-accept jp-mod-styled"
            data-action="publish"
            onClick={submit}
          >
            <div className="jp-Dialog-buttonLabel">
              {stage.error ? trans.__('Try again') : trans.__('Publish')}
            </div>
          </button>
        </>
      );
      break;
    case 'publishing':
      body = (
        <PublishProgress
          progress={stage.progress}
          name={input?.name ?? ''}
          trans={trans}
        />
      );
      buttons = (
        <button
          className="jp-Dialog-button jp-mod-reject jp-mod-styled"
          title={trans.__(
            'Publishing goes on in the kernel; you will be told when it is done'
          )}
          onClick={props.onClose}
        >
          <div className="jp-Dialog-buttonLabel">
            {trans.__('Close (keep publishing)')}
          </div>
        </button>
      );
      break;
    case 'done':
      body = (
        <Published
          publication={stage.publication}
          loadSnippets={props.loadSnippets}
          trans={trans}
        />
      );
      buttons = (
        <>
          <button
            className="jp-Dialog-button jp-mod-reject jp-mod-styled"
            onClick={props.onClose}
          >
            <div className="jp-Dialog-buttonLabel">{trans.__('Close')}</div>
          </button>
          <button
            className="jp-Dialog-button jp-mod-accept jp-mod-styled"
            data-action="show"
            onClick={() => {
              props.onShow(stage.publication.endpoint.name);
              props.onClose();
            }}
          >
            <div className="jp-Dialog-buttonLabel">
              {trans.__('Open in the sidebar')}
            </div>
          </button>
        </>
      );
      break;
  }
  return (
    <div className="jp-DataOps-publishPanel" data-stage={stage.kind}>
      <div className="jp-DataOps-publishBody">{body}</div>
      <div className="jp-DataOps-publishButtons">{buttons}</div>
    </div>
  );
}

/** The publish form: model, endpoint name, example, alias, canary. */
export function PublishForm(props: {
  candidates: ICandidates;
  input: IPublishInput;
  onChange: (input: IPublishInput) => void;
  onSubmit: () => void;
  existing: (name: string) => Endpoint | undefined;
  error: string | null;
  log: ReadonlyArray<string>;
  /** Where the server may serve endpoints (`ModelSettings`); null: unknown. */
  offer?: ServeOfferLike;
  trans: TranslationBundle;
}): JSX.Element {
  const { candidates, input, trans, existing } = props;
  const offer = props.offer ?? null;
  const update = (changes: Partial<IPublishInput>) =>
    props.onChange({ ...input, ...changes });
  const nameError = input.name ? endpointNameError(input.name, trans) : null;
  const current = !nameError ? existing(input.name) : undefined;
  const chosen = candidates.models.find(item => item.name === input.variable);
  return (
    <form
      className="jp-DataOps-publishForm"
      onSubmit={event => {
        event.preventDefault();
        props.onSubmit();
      }}
      onKeyDown={event => {
        // Enter in a text field publishes (the form has no submit button).
        const target = event.target as HTMLElement;
        if (
          event.key === 'Enter' &&
          target instanceof HTMLInputElement &&
          target.type !== 'checkbox' &&
          target.type !== 'radio'
        ) {
          event.preventDefault();
          props.onSubmit();
        }
      }}
    >
      {props.error && (
        <div
          className="jp-DataOps-alert jp-DataOps-alert-error jp-DataOps-publishError"
          role="alert"
        >
          <div>{props.error}</div>
          {props.log.length > 0 && (
            <details>
              <summary>{trans.__('What the kernel wrote')}</summary>
              <pre className="jp-DataOps-kernelReport">
                {props.log.join('\n')}
              </pre>
            </details>
          )}
        </div>
      )}
      <div className="jp-DataOps-field">
        <label>{trans.__('Model')}</label>
        <div
          className="jp-DataOps-candidates"
          role="radiogroup"
          aria-label={trans.__('Model')}
        >
          {candidates.models.map(model => (
            <label
              key={model.name}
              className={`jp-DataOps-candidate${
                model.name === input.variable ? ' jp-mod-active' : ''
              }`}
              data-variable={model.name}
            >
              <input
                type="radio"
                name="jp-DataOps-publishModel"
                value={model.name}
                checked={model.name === input.variable}
                onChange={() =>
                  update({
                    variable: model.name,
                    name: input.nameEdited
                      ? input.name
                      : defaultEndpointName(model.name)
                  })
                }
              />
              <code className="jp-DataOps-candidateName">{model.name}</code>
              <span className="jp-DataOps-candidateType">{model.type}</span>
              {model.flavor && (
                <span className="jp-DataOps-flavorTag">{model.flavor}</span>
              )}
              {!model.in_cell && (
                <span
                  className="jp-DataOps-candidateNote"
                  title={trans.__('Defined by an earlier cell')}
                >
                  {trans.__('earlier cell')}
                </span>
              )}
            </label>
          ))}
        </div>
      </div>
      <div className="jp-DataOps-field">
        <label htmlFor="jp-DataOps-endpointName">
          {trans.__('Endpoint name')}
        </label>
        <input
          id="jp-DataOps-endpointName"
          className={`jp-mod-styled jp-DataOps-endpointNameInput${
            nameError ? ' jp-DataOps-invalid' : ''
          }`}
          type="text"
          value={input.name}
          spellCheck={false}
          autoComplete="off"
          autoFocus={true}
          onChange={event =>
            update({ name: event.target.value, nameEdited: true })
          }
        />
        {nameError ? (
          <div className="jp-DataOps-fieldError">{nameError}</div>
        ) : current ? (
          <div className="jp-DataOps-fieldWarning">
            {trans.__(
              '%1 exists (v%2 of %3): it will serve the new version, on the same URL.',
              current.name,
              current.version,
              current.model_name
            )}
          </div>
        ) : (
          <div className="jp-DataOps-help">
            {trans.__(
              'Lower-case letters, digits and “-”: it names the URL and the registered model.'
            )}
          </div>
        )}
      </div>
      <div className="jp-DataOps-field">
        <label htmlFor="jp-DataOps-publishExample">
          {trans.__('Input example')}
        </label>
        <div className="jp-DataOps-exampleRow">
          <select
            id="jp-DataOps-publishExample"
            className="jp-mod-styled"
            value={input.example}
            onChange={event => update({ example: event.target.value })}
          >
            {candidates.examples.map(example => (
              <option key={example.name} value={example.name}>
                {shapeText(example.shape)
                  ? trans.__(
                      '%1 · %2 %3',
                      example.name,
                      example.type,
                      shapeText(example.shape)
                    )
                  : trans.__('%1 · %2', example.name, example.type)}
              </option>
            ))}
            <option value={OTHER_EXAMPLE}>
              {trans.__('Another expression…')}
            </option>
            <option value={NO_EXAMPLE}>{trans.__('None')}</option>
          </select>
          {input.example !== OTHER_EXAMPLE && input.example !== NO_EXAMPLE && (
            <input
              className="jp-mod-styled jp-DataOps-exampleSlice"
              type="text"
              aria-label={trans.__('Slice of the example')}
              title={trans.__(
                'Appended to the variable: the rows the example keeps'
              )}
              value={input.slice}
              spellCheck={false}
              onChange={event => update({ slice: event.target.value })}
            />
          )}
        </div>
        {input.example === OTHER_EXAMPLE && (
          <input
            className="jp-mod-styled jp-DataOps-exampleExpression"
            type="text"
            aria-label={trans.__('Example expression')}
            placeholder={trans.__('A Python expression, e.g. X_test.head()')}
            value={input.expression}
            spellCheck={false}
            onChange={event => update({ expression: event.target.value })}
          />
        )}
        <div className="jp-DataOps-help">
          {trans.__(
            'A few input rows: MLflow infers the signature from them, the snippets and “Try it” send them, drift compares requests with them.'
          )}
        </div>
      </div>
      <div className="jp-DataOps-publishRow">
        <div className="jp-DataOps-field">
          <label htmlFor="jp-DataOps-publishAlias">{trans.__('Alias')}</label>
          <input
            id="jp-DataOps-publishAlias"
            className="jp-mod-styled"
            type="text"
            value={input.alias}
            spellCheck={false}
            onChange={event => update({ alias: event.target.value })}
          />
        </div>
        <div className="jp-DataOps-field jp-DataOps-canaryField">
          <label className="jp-DataOps-checkLabel">
            <input
              type="checkbox"
              className="jp-DataOps-canaryCheck"
              checked={input.canary}
              disabled={!current}
              onChange={event => update({ canary: event.target.checked })}
            />
            <span>{trans.__('Serve as a canary')}</span>
          </label>
          {input.canary && current ? (
            <div className="jp-DataOps-percentRow">
              <input
                type="range"
                min={1}
                max={99}
                value={input.percent}
                aria-label={trans.__('Canary share (slider)')}
                onChange={event =>
                  update({ percent: Number(event.target.value) })
                }
              />
              <input
                type="number"
                className="jp-mod-styled jp-DataOps-percentInput"
                min={1}
                max={99}
                value={input.percent}
                aria-label={trans.__('Canary share (%)')}
                onChange={event =>
                  update({
                    percent: Math.max(
                      1,
                      Math.min(99, Number(event.target.value) || 1)
                    )
                  })
                }
              />
              <span>%</span>
            </div>
          ) : (
            <div className="jp-DataOps-help">
              {current
                ? trans.__(
                    'Next to v%1, for a share of requests',
                    current.version
                  )
                : trans.__('For an existing endpoint')}
            </div>
          )}
        </div>
      </div>
      <ServeField
        target={chosenServeTarget(input, current, offer)}
        offer={offer}
        current={current}
        name={input.name}
        onChange={serve => update({ serve, serveEdited: true })}
        trans={trans}
      />
      {chosen && (
        <div className="jp-DataOps-help jp-DataOps-publishSummary">
          {trans.__(
            'Logs %1 (%2) to MLflow, registers it as a new version of “%3”, points @%4 at it and serves it.',
            chosen.name,
            chosen.type,
            input.name || '…',
            input.alias.trim() || DEFAULT_ALIAS
          )}
        </div>
      )}
    </form>
  );
}

/** The command that prints an endpoint's token. */
export function tokenCommand(name: string): string {
  return `dataops endpoints token ${name}`;
}

/**
 * Where to serve the model: this machine on loopback or on all interfaces
 * (then with a note on the token), as now for an endpoint on another
 * address, and the Kubernetes cluster. What the server does not offer is
 * shown disabled, saying why (this machine's choices when its endpoints run
 * on the cluster alone; the cluster, with how an operator offers it).
 */
export function ServeField(props: {
  target: ServeTarget;
  /** Where the server may serve endpoints (null: this machine). */
  offer?: ServeOfferLike;
  current: Endpoint | undefined;
  /** The endpoint's name, for the token's command and route. */
  name: string;
  onChange: (target: ServeTarget) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { target, current, trans } = props;
  const cluster = clusterTarget(props.offer);
  const name = props.name || 'NAME';
  // On a cluster alone, this machine's choices are shown, disabled, with why.
  const local = !servesLocally(props.offer)
    ? {
        title: trans.__('Endpoints on this server run on the cluster'),
        disabled: true
      }
    : {};
  const options: {
    value: ServeTarget;
    label: string;
    title?: string;
    disabled?: boolean;
  }[] = [
    {
      value: 'loopback',
      label: trans.__('This machine, loopback only (%1)', LOOPBACK_HOST),
      title: trans.__('Only programs on this machine can call it; no token'),
      ...local
    },
    {
      value: 'all',
      label: trans.__(
        'This machine, all interfaces (%1), token required',
        ALL_INTERFACES_HOST
      ),
      title: trans.__('Other machines can call it, with the endpoint’s token'),
      ...local
    }
  ];
  if (current && serveTargetOf(current) === 'current') {
    options.push({
      value: 'current',
      label: trans.__(
        'This machine, as now (%1), token required',
        current.host
      ),
      title: trans.__('Keep the address %1 listens on', current.name),
      ...local
    });
  }
  options.push(
    cluster
      ? {
          value: 'kubernetes',
          label:
            cluster === KSERVE_TARGET
              ? trans.__('Kubernetes cluster (a KServe InferenceService)')
              : trans.__('Kubernetes cluster (a Deployment and a Service)'),
          title: trans.__(
            'The server runs the endpoint on its Kubernetes cluster; clients call the cluster’s URL with the endpoint’s token'
          )
        }
      : {
          value: 'kubernetes',
          label: trans.__('Kubernetes cluster: not configured'),
          title: trans.__(
            'An operator offers it with c.DataOps.endpoint_targets = ["kubernetes"]'
          ),
          disabled: true
        }
  );
  return (
    <div className="jp-DataOps-field jp-DataOps-serveField">
      <label>{trans.__('Serve on')}</label>
      <div
        className="jp-DataOps-candidates jp-DataOps-serveTargets"
        role="radiogroup"
        aria-label={trans.__('Serve on')}
      >
        {options.map(option => (
          <label
            key={option.value}
            className={`jp-DataOps-serveTarget${
              option.value === target ? ' jp-mod-active' : ''
            }${option.disabled ? ' jp-mod-disabled' : ''}`}
            data-target={option.value}
            title={option.title}
          >
            <input
              type="radio"
              name="jp-DataOps-publishServe"
              value={option.value}
              checked={option.value === target}
              disabled={option.disabled}
              aria-disabled={option.disabled}
              onChange={() => props.onChange(option.value)}
            />
            <span>{option.label}</span>
          </label>
        ))}
      </div>
      {target !== 'loopback' && (
        <div className="jp-DataOps-help jp-DataOps-serveTokenNote">
          {trans.__(
            'Clients then need the endpoint’s token: %1, or GET /dataops/api/endpoints/%2/token.',
            tokenCommand(name),
            name
          )}
        </div>
      )}
    </div>
  );
}

/** The steps, the current one spinning, with a bar. */
export function PublishProgress(props: {
  progress: IPublishProgress;
  name: string;
  trans: TranslationBundle;
}): JSX.Element {
  const { progress, trans } = props;
  const labels = stepLabels(trans);
  const current = Math.max(1, progress.step);
  const fraction = Math.min(1, (current - 0.5) / PUBLISH_STEPS);
  return (
    <div
      className="jp-DataOps-publishProgress"
      role="status"
      aria-live="polite"
    >
      <div className="jp-DataOps-publishPhase">
        {progress.phase
          ? trans.__('%1…', progress.phase.replace(/[.…]+$/, ''))
          : trans.__('Publishing %1…', props.name)}
      </div>
      <div
        className={`jp-DataOps-progressTrack${
          progress.step === 0 ? ' jp-DataOps-indeterminate' : ''
        }`}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={PUBLISH_STEPS}
        aria-valuenow={progress.step}
      >
        <div
          className="jp-DataOps-progressBar"
          style={
            progress.step === 0
              ? undefined
              : { width: `${Math.round(fraction * 100)}%` }
          }
        />
      </div>
      <ol className="jp-DataOps-publishSteps">
        {labels.map((label, index) => {
          const step = index + 1;
          const state =
            step < current ? 'done' : step === current ? 'current' : 'todo';
          return (
            <li
              key={step}
              className={`jp-DataOps-publishStep jp-mod-${state}`}
              data-step={step}
              data-state={state}
            >
              <span className="jp-DataOps-stepMark" aria-hidden="true">
                {state === 'done' ? '✓' : step}
              </span>
              {label}
            </li>
          );
        })}
      </ol>
      <div className="jp-DataOps-help">
        {trans.__(
          'It runs in the notebook’s kernel; closing this dialog does not stop it.'
        )}
      </div>
    </div>
  );
}

/**
 * A version registered but not served (`--only-if-better` found it no
 * better), in words.
 */
export function notServedText(
  publication: Publication,
  trans: TranslationBundle
): string {
  const { endpoint, version } = publication;
  return publication.reason
    ? trans.__(
        'v%1 of %2 was registered but not served: %3. %4 still serves v%5.',
        version.version,
        version.name,
        publication.reason.replace(/[.\s]+$/, ''),
        endpoint.name,
        endpoint.version
      )
    : trans.__(
        'v%1 of %2 was registered but not served. %3 still serves v%4.',
        version.version,
        version.name,
        endpoint.name,
        endpoint.version
      );
}

/** Published: the URL to copy, how long it took, and the snippets. */
function Published(props: {
  publication: Publication;
  loadSnippets: (name: string) => Promise<Snippets>;
  trans: TranslationBundle;
}): JSX.Element {
  const { publication, trans } = props;
  const endpoint = publication.endpoint;
  const [snippets, setSnippets] = React.useState<Snippets | null>(null);
  const [tab, setTab] = React.useState<'curl' | 'python'>('curl');
  React.useEffect(() => {
    props
      .loadSnippets(endpoint.name)
      .then(setSnippets)
      .catch(() => undefined);
  }, [endpoint.name]);
  return (
    <div className="jp-DataOps-published">
      {publication.published === false ? (
        <div className="jp-DataOps-alert jp-DataOps-alert-warn" role="status">
          {notServedText(publication, trans)}
        </div>
      ) : (
        <div
          className="jp-DataOps-alert jp-DataOps-alert-success"
          role="status"
        >
          <span className="jp-DataOps-publishedCheck" aria-hidden="true">
            ✓
          </span>
          <span>
            {endpoint.canary_version === publication.version.version &&
            endpoint.canary_percent > 0
              ? trans.__(
                  'Endpoint %1 sends %2 % of requests to %3 v%4 (published in %5).',
                  endpoint.name,
                  endpoint.canary_percent,
                  publication.version.name,
                  publication.version.version,
                  formatSeconds(publication.seconds, trans)
                )
              : trans.__(
                  'Endpoint %1 serves %2 v%3 (published in %4).',
                  endpoint.name,
                  publication.version.name,
                  publication.version.version,
                  formatSeconds(publication.seconds, trans)
                )}
          </span>
        </div>
      )}
      <div className="jp-DataOps-field">
        <label>{trans.__('URL')}</label>
        <div className="jp-DataOps-urlValue jp-DataOps-publishedUrl">
          <code>{endpoint.url}</code>
          <CopyButton
            text={endpoint.url}
            label={trans.__('Copy the URL')}
            trans={trans}
          />
        </div>
      </div>
      {endpoint.token_required && (
        <div className="jp-DataOps-field jp-DataOps-publishedToken">
          <label>{trans.__('Token required')}</label>
          <div className="jp-DataOps-help">
            {servesOnCluster(endpoint.target)
              ? trans.__(
                  '%1 runs on the Kubernetes cluster: clients send its token (Authorization: Bearer …). This prints it:',
                  endpoint.name
                )
              : trans.__(
                  '%1 listens on %2: clients send its token (Authorization: Bearer …). This prints it:',
                  endpoint.name,
                  endpoint.host
                )}
          </div>
          <div className="jp-DataOps-urlValue jp-DataOps-publishedUrl jp-DataOps-tokenCommand">
            <code>{tokenCommand(endpoint.name)}</code>
            <CopyButton
              text={tokenCommand(endpoint.name)}
              label={trans.__('Copy the command that prints the token')}
              trans={trans}
            />
          </div>
        </div>
      )}
      {snippets && (
        <SnippetTabs
          snippets={snippets}
          tab={tab}
          onTab={setTab}
          trans={trans}
        />
      )}
    </div>
  );
}

/** The publish dialog's body widget. */
class PublishBody extends ReactWidget {
  constructor(private _props: IPublishPanelProps) {
    super();
    this.addClass('jp-DataOps-publishDialog');
  }

  render(): JSX.Element {
    return <PublishPanel {...this._props} />;
  }
}

/**
 * Open the publish dialog; it closes itself (its own buttons, Escape).
 * Resolves when it is closed.
 */
export async function openPublishDialog(
  options: Omit<IPublishPanelProps, 'onClose'> & { title: string }
): Promise<void> {
  let dialog: Dialog<unknown> | null = null;
  const body = new PublishBody({
    ...options,
    onClose: () => dialog?.reject()
  });
  // No footer buttons: the body has its own, which change as it goes; with
  // none, Enter in a field is left to the form (it publishes).
  dialog = new Dialog({
    title: options.title,
    body,
    buttons: [],
    hasClose: true
  });
  dialog.addClass('jp-DataOps-publishDialogHost');
  // Capped to the window; only the form scrolls (style/endpoints.css).
  dialog.addClass('jp-DataOps-publishModelDialogHost');
  await dialog.launch();
}

/** Ask before deleting an endpoint. */
export async function confirmDeleteEndpoint(
  endpoint: Endpoint,
  trans: TranslationBundle
): Promise<boolean> {
  const result = await showDialog({
    title: trans.__('Delete endpoint %1?', endpoint.name),
    body: trans.__(
      'It stops answering at %1 and leaves the catalogue. The versions of %2 stay in the model registry: publish one again to serve it.',
      endpoint.url,
      endpoint.model_name
    ),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: trans.__('Delete') })
    ]
  });
  return result.button.accept;
}
