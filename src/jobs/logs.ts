/**
 * Follow a job's log by byte offset: read a chunk, ask again from the offset
 * it ends at, until the server says the log is complete.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataOpsApiError } from '../api';
import { JobLogs } from './types';

/** Reads a job's log chunk by chunk and, where the executor can, follows it. */
export class LogFollower implements IDisposable {
  constructor(options: LogFollower.IOptions) {
    this._read = options.read;
    this._follow = options.follow;
    this._interval = options.interval ?? 1000;
    this._maxInterval = options.maxInterval ?? 30000;
    this._maxChars = options.maxChars ?? 2_000_000;
  }

  /** The log read so far (its end, when longer than `maxChars`). */
  get text(): string {
    return this._text;
  }

  /** Whether the job has ended and the whole log was read. */
  get complete(): boolean {
    return this._complete;
  }

  /** Whether the start of the log was dropped to stay under `maxChars`. */
  get truncated(): boolean {
    return this._truncated;
  }

  /** Whether a chunk has been read once. */
  get ready(): boolean {
    return this._ready;
  }

  /** Whether the follower reads new chunks as the job writes them. */
  get following(): boolean {
    return this._follow && !this._complete && !this._isDisposed;
  }

  /** Why the last read failed, or null. */
  get error(): DataOpsApiError | null {
    return this._error;
  }

  /** The byte offset the next chunk starts at. */
  get offset(): number {
    return this._offset;
  }

  /** The text, state or error changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Read the log so far and, when following, keep reading until it is complete. */
  start(): void {
    this._schedule(0);
  }

  /** Read soon, e.g. because the job reported progress. */
  poke(): void {
    if (!this._complete && this._follow) {
      this._schedule(250);
    }
  }

  /** Read the whole log again from its start. */
  reload(): void {
    this._generation++;
    this._text = '';
    this._offset = 0;
    this._complete = false;
    this._truncated = false;
    this._error = null;
    this._ready = false;
    this._inFlight = false;
    this._changed.emit();
    this._schedule(0, true);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._clearTimer();
    Signal.clearData(this);
  }

  private _schedule(delay: number, force = false): void {
    if (this._isDisposed || (this._complete && !force)) {
      return;
    }
    if (this._timer !== null) {
      if (!force && this._timerDelay <= delay) {
        return;
      }
      this._clearTimer();
    }
    this._timerDelay = delay;
    this._timer = setTimeout(() => {
      this._timer = null;
      void this._next();
    }, delay);
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private async _next(): Promise<void> {
    if (this._inFlight || this._isDisposed) {
      return;
    }
    this._inFlight = true;
    const generation = this._generation;
    let chunk: JobLogs;
    try {
      chunk = await this._read(this._offset);
    } catch (reason) {
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._inFlight = false;
      this._error = DataOpsApiError.from(reason);
      this._failures++;
      this._changed.emit();
      if (this._follow && this._error.kind !== 'not_found') {
        this._schedule(
          Math.min(this._maxInterval, this._interval * 2 ** this._failures)
        );
      }
      return;
    }
    if (generation !== this._generation || this._isDisposed) {
      return;
    }
    this._inFlight = false;
    this._failures = 0;
    this._error = null;
    this._ready = true;
    const grew = chunk.logs.length > 0 || chunk.offset !== this._offset;
    this._append(chunk.logs);
    this._offset = chunk.offset;
    this._complete = chunk.complete;
    this._changed.emit();
    if (this._complete) {
      return;
    }
    if (grew) {
      // More may be waiting right behind a long chunk: read on at once.
      this._schedule(0);
    } else if (this._follow) {
      this._schedule(this._interval);
    }
  }

  private _append(logs: string): void {
    if (!logs) {
      return;
    }
    let text = this._text + logs;
    if (text.length > this._maxChars) {
      text = text.slice(text.length - this._maxChars);
      // Start at a line, not in the middle of one.
      const newline = text.indexOf('\n');
      if (newline >= 0 && newline < 1000) {
        text = text.slice(newline + 1);
      }
      this._truncated = true;
    }
    this._text = text;
  }

  private _read: (offset: number) => Promise<JobLogs>;
  private _follow: boolean;
  private _interval: number;
  private _maxInterval: number;
  private _maxChars: number;
  private _text = '';
  private _offset = 0;
  private _complete = false;
  private _truncated = false;
  private _ready = false;
  private _error: DataOpsApiError | null = null;
  private _failures = 0;
  private _inFlight = false;
  private _generation = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _timerDelay = 0;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}

export namespace LogFollower {
  export interface IOptions {
    /** Read the log from a byte offset (`GET /jobs/{id}/logs?offset=`). */
    read: (offset: number) => Promise<JobLogs>;
    /**
     * Keep reading new chunks until the log is complete; without it, the
     * log is read up to its current end once (the executor cannot follow).
     */
    follow: boolean;
    /** Milliseconds between reads while the log does not grow (default 1 s). */
    interval?: number;
    /** The longest wait between reads while the server fails (default 30 s). */
    maxInterval?: number;
    /** The most characters kept; the log's start is dropped past it (default 2,000,000). */
    maxChars?: number;
  }
}
