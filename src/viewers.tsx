/**
 * Main-area views of one job: its executed notebook as HTML, and its logs.
 */
import { MainAreaWidget, ToolbarButton } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { IJob, isTerminal } from './api';
import { statusIcons } from './icons';
import { errorText } from './labels';
import { IDataOpsModel } from './tokens';

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

  private _model: IDataOpsModel;
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
  model: IDataOpsModel;
  jobId: string;
  trans: TranslationBundle;
  reloadRequests: number;
}): JSX.Element {
  const { model, jobId, trans } = props;
  const [logs, setLogs] = React.useState<string | null>(null);
  const [error, setError] = React.useState<{
    message: string;
    hint: string | null;
  } | null>(null);
  const [version, setVersion] = React.useState(0);
  const pre = React.useRef<HTMLPreElement>(null);

  React.useEffect(() => {
    let cancelled = false;
    model.client
      .getLogs(jobId)
      .then(text => {
        if (!cancelled) {
          setLogs(text);
          setError(null);
        }
      })
      .catch(reason => {
        if (!cancelled) {
          setError(errorText(reason));
        }
      });
    return () => {
      cancelled = true;
    };
  }, [jobId, version, props.reloadRequests]);

  // Follow a running job: reload at most once a second while it changes.
  React.useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const onJob = (_: unknown, job: IJob) => {
      if (job.id !== jobId || timer !== null) {
        return;
      }
      timer = setTimeout(() => {
        timer = null;
        setVersion(v => v + 1);
      }, 1000);
    };
    model.jobChanged.connect(onJob);
    return () => {
      model.jobChanged.disconnect(onJob);
      if (timer !== null) {
        clearTimeout(timer);
      }
    };
  }, [model, jobId]);

  React.useEffect(() => {
    const node = pre.current;
    const job = model.getJob(jobId);
    if (node && job && !isTerminal(job.status)) {
      node.scrollTop = node.scrollHeight;
    }
  }, [logs]);

  if (error) {
    return (
      <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
        <div>{error.message}</div>
        {error.hint && <div className="jp-DataOps-hint">{error.hint}</div>}
      </div>
    );
  }
  if (logs === null) {
    return <div className="jp-DataOps-viewMessage">{trans.__('Loading…')}</div>;
  }
  return (
    <pre className="jp-DataOps-logs" ref={pre}>
      {logs || trans.__('(no log output yet)')}
    </pre>
  );
}

/** A job's logs, following the job while it runs. */
export class JobLogsView extends ReactWidget {
  constructor(options: IViewOptions) {
    super();
    this._model = options.model;
    this._jobId = options.job.id;
    this._trans = options.trans;
    this.addClass('jp-DataOps-logsView');
  }

  reload(): void {
    this._reloads++;
    this.update();
  }

  render(): JSX.Element {
    return (
      <LogsView
        model={this._model}
        jobId={this._jobId}
        trans={this._trans}
        reloadRequests={this._reloads}
      />
    );
  }

  private _model: IDataOpsModel;
  private _jobId: string;
  private _trans: TranslationBundle;
  private _reloads = 0;
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
  model: IDataOpsModel;
  job: IJob;
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
