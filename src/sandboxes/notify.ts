/**
 * What a sandbox's change means for the rest of JupyterLab: its kernel
 * appears in (or leaves) the kernel picker, it will stop soon (a warning,
 * once per warning), it failed (an error, once).
 */
import { Notification } from '@jupyterlab/apputils';
import { KernelSpec } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { IDisposable } from '@lumino/disposable';

import { ICollectionModel } from '../collection';
import { SandboxCommandIDs } from './commands';
import { isActive } from './format';
import { ISandboxesModel } from './tokens';
import { Sandbox } from './types';

/** What a change of a sandbox tells. */
export interface ISandboxNews {
  /** A warning that was not there before (it stops soon). */
  warning: string | null;
  /** It failed now (it was seen not failed before). */
  failed: boolean;
  /** Its kernel should be in the kernel picker. */
  ready: boolean;
  /** Its kernel should leave the kernel picker. */
  ended: boolean;
}

/**
 * What a change tells: only changes seen live (`previous` known) warn or
 * report a failure; a ready one's kernel spec is wanted whenever it is seen.
 */
export function sandboxNews(
  previous: Sandbox | undefined,
  current: Sandbox | null
): ISandboxNews {
  const news: ISandboxNews = {
    warning: null,
    failed: false,
    ready: false,
    ended: false
  };
  if (current === null) {
    news.ended = previous !== undefined;
    return news;
  }
  news.ready = current.status === 'ready' && !!current.kernel_name;
  news.ended =
    !isActive(current.status) &&
    previous !== undefined &&
    isActive(previous.status);
  if (previous !== undefined) {
    if (current.warning && !previous.warning && isActive(current.status)) {
      news.warning = current.warning;
    }
    news.failed = current.status === 'failed' && previous.status !== 'failed';
  }
  return news;
}

/**
 * Tell the user about sandboxes that will stop soon or failed, and keep the
 * kernel picker in step with ready and ended sandboxes. Dispose to stop.
 */
export function followSandboxes(options: {
  model: ISandboxesModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  kernelspecs: KernelSpec.IManager | null;
}): IDisposable {
  const { model, commands, trans, kernelspecs } = options;
  const warned = new Set<string>();
  const failed = new Set<string>();
  let refreshing: Promise<void> | null = null;
  const refreshSpecs = () => {
    if (!kernelspecs || refreshing) {
      return;
    }
    refreshing = kernelspecs
      .refreshSpecs()
      .catch(() => undefined)
      .then(() => {
        refreshing = null;
      });
  };
  const show = (id: string) => ({
    label: trans.__('Show'),
    callback: () =>
      void commands.execute(SandboxCommandIDs.open, { select: id })
  });
  const onChanged = (
    _: unknown,
    change: ICollectionModel.IItemChange<Sandbox>
  ) => {
    const { id, previous, current } = change;
    const news = sandboxNews(previous, current);
    const specs = kernelspecs?.specs?.kernelspecs ?? {};
    const name = current?.kernel_name ?? previous?.kernel_name ?? null;
    if (news.ready && name && !specs[name]) {
      refreshSpecs();
    } else if (news.ended && name && specs[name]) {
      refreshSpecs();
    }
    if (!current?.warning) {
      warned.delete(id);
    }
    if (news.warning && current && !warned.has(id)) {
      warned.add(id);
      Notification.warning(
        trans.__('Sandbox %1: %2', current.display_name || id, news.warning),
        { autoClose: 20000, actions: [show(id)] }
      );
    }
    if (news.failed && current && !failed.has(id)) {
      failed.add(id);
      Notification.error(
        current.error
          ? trans.__(
              'Sandbox %1 failed: %2',
              current.display_name || id,
              current.error
            )
          : trans.__('Sandbox %1 failed.', current.display_name || id),
        { autoClose: 15000, actions: [show(id)] }
      );
    }
  };
  model.collection.itemChanged.connect(onChanged);
  let disposed = false;
  return {
    get isDisposed() {
      return disposed;
    },
    dispose() {
      if (!disposed) {
        disposed = true;
        model.collection.itemChanged.disconnect(onChanged);
      }
    }
  };
}
