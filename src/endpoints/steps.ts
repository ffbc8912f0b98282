/**
 * What a publish is doing, for the dialog's steps: the phases the magic
 * writes (logging the model, registering a version), then what the
 * endpoint's events tell (starting, answering).
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IEndpointsModel } from '../tokens';
import { IPublishProgress } from './kernel';
import { Endpoint } from './types';

/**
 * The progress of a publish: the magic's phases (logging, registering),
 * then the endpoint's own events (starting, answering), never going back.
 */
export class PublishSteps {
  constructor(
    private _model: IEndpointsModel,
    private _name: string,
    private _onProgress: (progress: IPublishProgress) => void,
    private _trans: TranslationBundle
  ) {
    _model.collection.itemChanged.connect(this._onItem, this);
  }

  /** What the kernel says. */
  kernel(progress: IPublishProgress): void {
    const newer = progress.step >= this._progress.step;
    this._progress = {
      ...progress,
      phase: newer ? progress.phase : this._progress.phase,
      step: Math.max(progress.step, this._progress.step)
    };
    this._onProgress(this._progress);
  }

  /** Stop following the endpoint's events. */
  dispose(): void {
    this._model.collection.itemChanged.disconnect(this._onItem, this);
  }

  private _onItem(
    _: unknown,
    change: { id: string; current: Endpoint | null }
  ): void {
    // Only once the kernel registered the version: before, an existing
    // endpoint's events are about the version it serves.
    if (
      change.id !== this._name ||
      !change.current ||
      this._progress.step < 2
    ) {
      return;
    }
    const status = change.current.status;
    const step = status === 'starting' ? 3 : status === 'running' ? 4 : 0;
    if (step > this._progress.step) {
      this._progress = {
        ...this._progress,
        step,
        phase:
          step === 3
            ? this._trans.__('starting the endpoint')
            : this._trans.__('waiting for the first answer')
      };
      this._onProgress(this._progress);
    }
  }

  private _progress: IPublishProgress = {
    phase: null,
    step: 0,
    error: null,
    log: []
  };
}
