/**
 * Main-area views of one job: its executed notebook as HTML, and its logs.
 */
import { MainAreaWidget, ToolbarButton } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { DataOpsApiError, errorText } from '../api';
import { useSignals } from '../collection';
import { IJobsModel } from '../tokens';
import { statusIcons } from './icons';
import { LogFollower } from './logs';
import { Job } from './types';

/**
 * The executed notebook rendered by nbconvert, in a sandboxed frame.
 *
 * The HTML is fetched through the authenticated client and shown with
 * `srcdoc`; the sandbox allows its scripts (widgets, plots) but not access to
 * JupyterLab's origin.
 */
export class JobHtmlView extends Widget {
  constructor(options: IViewOptions) {
    super();
    this._model = options.model;
    this._jobId = options.job.id;
    this._trans = options.trans;
    this.addClass('jp-DataOps-htmlView');
    this._message = document.createElement('div');
    this._message.className = 'jp-DataOps-viewMessage';
    this._frame = document.createElement('iframe');
    this._frame.setAttribute(
      'sandbox',
      'allow-scripts allow-popups allow-popups-to-escape-sandbox'
    );
    this._frame.title = options.trans.__(
      'Executed notebook of %1',
      options.job.name
    );
    this.node.appendChild(this._message);
    this.node.appendChild(this._frame);
    void this.reload();
  }

  /** Fetch the HTML again, e.g. after a re-run wrote a new one. */
  async reload(): Promise<void> {
    this._message.textContent = this._trans.__('Loading…');
    this._message.className = 'jp-DataOps-viewMessage';
    this._message.hidden = false;
    try {
      const html = await this._model.client.getHtml(this._jobId);
      this._frame.srcdoc = html;
      this._message.hidden = true;
    } catch (reason) {
      const { message, hint } = errorText(reason);
      this._message.textContent = hint ? `${message} ${hint}` : message;
      this._message.classList.add('jp-DataOps-alert-error');
    }
  }

  private _model: IJobsModel;
  private _jobId: string;
  private _trans: TranslationBundle;
  private _frame: HTMLIFrameElement;
  private _message: HTMLDivElement;
}

/** Wrap the HTML view in a main-area widget with a reload button. */
export function createHtmlWidget(
  options: IViewOptions
): MainAreaWidget<JobHtmlView> {
  return wrapJobView(
    new JobHtmlView(options),
    'html',
    options.trans.__('%1 (HTML)', options.job.name),
    options
  );
}

function LogsView(props: {
  follower: LogFollower;
  trans: TranslationBundle;
}): JSX.Element {
  const { follower, trans } = props;
  useSignals(follower.changed);
  const pre = React.useRef<HTMLPreElement>(null);
  // Stick to the end while the user has not scrolled up.
  const atEnd = React.useRef(true);

  React.useLayoutEffect(() => {
    const node = pre.current;
    if (node && atEnd.current) {
      node.scrollTop = node.scrollHeight;
    }
  });

  if (follower.error && !follower.ready) {
    return <ErrorAlert error={follower.error} />;
  }
  if (!follower.ready) {
    return <div className="jp-DataOps-viewMessage">{trans.__('Loading…')}</div>;
  }
  let status: string;
  if (follower.complete) {
    status = trans.__('The job has ended: this is its whole log.');
  } else if (follower.following) {
    status = trans.__('Following the log as the job writes it…');
  } else {
    status = trans.__(
      'This executor cannot follow logs: reload to see what was written since.'
    );
  }
  return (
    <div className="jp-DataOps-logsBody">
      <div
        className={`jp-DataOps-logsStatus${
          follower.following ? ' jp-mod-following' : ''
        }`}
        role="status"
      >
        {follower.truncated && (
          <span>{trans.__('Showing the end of a long log.')} </span>
        )}
        {status}
      </div>
      {follower.error && <ErrorAlert error={follower.error} />}
      <pre
        className="jp-DataOps-logs"
        ref={pre}
        onScroll={event => {
          const node = event.currentTarget;
          atEnd.current =
            node.scrollHeight - node.scrollTop - node.clientHeight < 24;
        }}
      >
        {follower.text || trans.__('(no log output yet)')}
      </pre>
    </div>
  );
}

function ErrorAlert(props: { error: DataOpsApiError }): JSX.Element {
  return (
    <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
      <div>{props.error.message}</div>
      {props.error.hint && (
        <div className="jp-DataOps-hint">{props.error.hint}</div>
      )}
    </div>
  );
}

/** A job's log, followed by offset while the job runs (when the executor can). */
export class JobLogsView extends ReactWidget {
  constructor(options: IViewOptions) {
    super();
    const { model, job } = options;
    this._trans = options.trans;
    this.addClass('jp-DataOps-logsView');
    this.follower = new LogFollower({
      read: offset => model.client.getLogs(job.id, offset),
      follow: model.capabilities.follow_logs
    });
    // Progress means output: read soon rather than at the next interval.
    model.jobChanged.connect((_, changed) => {
      if (changed.id === job.id) {
        this.follower.poke();
      }
    }, this);
    model.collection.itemChanged.connect((_, change) => {
      if (change.id === job.id) {
        this.follower.poke();
      }
    }, this);
    this.follower.start();
  }

  readonly follower: LogFollower;

  reload(): void {
    this.follower.reload();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.follower.dispose();
    Signal.disconnectReceiver(this);
    super.dispose();
  }

  render(): JSX.Element {
    return <LogsView follower={this.follower} trans={this._trans} />;
  }

  private _trans: TranslationBundle;
}

/** Wrap the logs view in a main-area widget with a reload button. */
export function createLogsWidget(
  options: IViewOptions
): MainAreaWidget<JobLogsView> {
  return wrapJobView(
    new JobLogsView(options),
    'logs',
    options.trans.__('%1 (logs)', options.job.name),
    options
  );
}

/** What a job view is made from. */
interface IViewOptions {
  model: IJobsModel;
  job: Job;
  trans: TranslationBundle;
}

/** A job's view in the main area: titled after the job, with its status icon and a reload button. */
function wrapJobView<T extends Widget & { reload(): unknown }>(
  content: T,
  kind: string,
  label: string,
  { job, trans }: IViewOptions
): MainAreaWidget<T> {
  const widget = new MainAreaWidget({ content });
  widget.id = `jp-DataOps-${kind}-${job.id}`;
  widget.title.label = label;
  widget.title.caption = job.notebook_path;
  widget.title.icon = statusIcons[job.status];
  widget.title.closable = true;
  widget.toolbar.addItem(
    'reload',
    new ToolbarButton({
      icon: refreshIcon,
      tooltip: trans.__('Reload'),
      onClick: () => void content.reload()
    })
  );
  return widget;
}
