/**
 * React views any collection section shows: its pager, its error, and a hook
 * that re-renders on a model's signals.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { errorText } from '../api';
import { ICollectionModel, ICollectionQuery } from './model';

/** Re-render the calling component whenever one of the signals is emitted. */
export function useSignals(
  ...signals: ReadonlyArray<ISignal<unknown, unknown> | null | undefined>
): void {
  const [, setVersion] = React.useState(0);
  React.useEffect(() => {
    const bump = () => setVersion(version => version + 1);
    for (const signal of signals) {
      signal?.connect(bump);
    }
    return () => {
      for (const signal of signals) {
        signal?.disconnect(bump);
      }
    };
  }, signals);
}

/** A count as the user's locale writes it (`1,234`). */
export function formatCount(value: number): string {
  return new Intl.NumberFormat().format(value);
}

/**
 * Where the page is in the list: `1–25 of 130`, `26–50 of about 1,200`, or
 * `none` on an empty list.
 */
export function pageRangeText(
  model: Pick<
    ICollectionModel<unknown, ICollectionQuery>,
    'offset' | 'items' | 'total' | 'totalIsEstimate' | 'hasNext' | 'hasPrevious'
  >,
  trans: TranslationBundle
): string {
  const count = model.items.length;
  if (count === 0) {
    return trans.__('none');
  }
  const from = formatCount(model.offset + 1);
  const to = formatCount(model.offset + count);
  // One page holds the whole list: its length is the total, whatever the estimate.
  const whole = !model.hasNext && !model.hasPrevious;
  const total = formatCount(
    whole ? count : Math.max(model.total, model.offset + count)
  );
  return model.totalIsEstimate && !whole
    ? trans.__('%1–%2 of about %3', from, to, total)
    : trans.__('%1–%2 of %3', from, to, total);
}

/** Page sizes the user can choose from. */
export const PAGE_SIZES: ReadonlyArray<number> = [10, 25, 50, 100];

/** Previous and next buttons, the page's range, and the page size. */
export function CollectionPager<TItem, TQuery extends ICollectionQuery>(props: {
  model: ICollectionModel<TItem, TQuery>;
  trans: TranslationBundle;
  /** What one item is called, for the page size's label, e.g. "Jobs per page". */
  pageSizeLabel: string;
}): JSX.Element | null {
  const { model, trans } = props;
  if (!model.ready) {
    return null;
  }
  const limit = model.query.limit ?? PAGE_SIZES[1];
  const sizes = PAGE_SIZES.includes(limit)
    ? PAGE_SIZES
    : [...PAGE_SIZES, limit].sort((a, b) => a - b);
  return (
    <footer className="jp-DataOps-pager">
      <button
        className="jp-DataOps-iconButton"
        disabled={!model.hasPrevious}
        aria-label={trans.__('Previous page')}
        title={trans.__('Previous page')}
        onClick={() => model.previous()}
      >
        ‹
      </button>
      <span className="jp-DataOps-pageText" aria-live="polite">
        {pageRangeText(model, trans)}
      </span>
      <button
        className="jp-DataOps-iconButton"
        disabled={!model.hasNext}
        aria-label={trans.__('Next page')}
        title={trans.__('Next page')}
        onClick={() => model.next()}
      >
        ›
      </button>
      <select
        className="jp-DataOps-select jp-DataOps-pageSize"
        aria-label={props.pageSizeLabel}
        title={props.pageSizeLabel}
        value={limit}
        onChange={event =>
          model.setQuery({
            limit: Number(event.target.value)
          } as Partial<TQuery>)
        }
      >
        {sizes.map(size => (
          <option key={size} value={size}>
            {size}
          </option>
        ))}
      </select>
    </footer>
  );
}

/** The error of the last page request, with its hint and a retry button. */
export function CollectionError<TItem, TQuery extends ICollectionQuery>(props: {
  model: ICollectionModel<TItem, TQuery>;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { model, trans } = props;
  if (!model.error) {
    return null;
  }
  return (
    <div className="jp-DataOps-alert jp-DataOps-alert-error" role="alert">
      <div>{model.error.message}</div>
      {model.error.hint && (
        <div className="jp-DataOps-hint">{model.error.hint}</div>
      )}
      <button
        className="jp-mod-styled jp-DataOps-linkButton"
        onClick={() => void model.refresh()}
      >
        {trans.__('Try again')}
      </button>
    </div>
  );
}

/**
 * The refresh button of a section heading: it asks the collection again and
 * spins while it loads.
 */
function RefreshButton<TItem, TQuery extends ICollectionQuery>(props: {
  collection: ICollectionModel<TItem, TQuery>;
  label: string;
}): JSX.Element {
  const { collection, label } = props;
  useSignals(collection.changed);
  return (
    <button
      className="jp-DataOps-iconButton jp-DataOps-refresh"
      title={label}
      aria-label={label}
      onClick={event => {
        // The heading toggles the section on click; this click is not for it.
        event.stopPropagation();
        void collection.refresh();
      }}
      onKeyDown={event => {
        // Nor are Enter and Space, which the heading also takes.
        if (event.key === 'Enter' || event.key === ' ') {
          event.stopPropagation();
        }
      }}
    >
      <refreshIcon.react
        tag="span"
        className={collection.loading ? 'jp-DataOps-spin' : ''}
      />
    </button>
  );
}

/** A widget for a section heading's refresh button. */
export function createRefreshButton<TItem, TQuery extends ICollectionQuery>(
  collection: ICollectionModel<TItem, TQuery>,
  label: string
): ReactWidget {
  const widget = ReactWidget.create(
    <RefreshButton collection={collection} label={label} />
  );
  widget.addClass('jp-DataOps-toolbarItem');
  return widget;
}

/** Why something could not be loaded, as the views show it. */
export type LoadProblem = { message: string; hint: string | null };

/**
 * One item of a collection in full (a job, a schedule), kept live: what is
 * cached now, then what `fetch` answers, then every `changed` emission for
 * it. Returns the item (null until known) and why it could not be loaded.
 */
export function useLiveItem<T extends { id: string }>(
  id: string,
  cached: T | undefined,
  fetch: (id: string) => Promise<T | null>,
  changed: ISignal<unknown, T>
): [T | null, LoadProblem | null] {
  const [item, setItem] = React.useState<T | null>(cached ?? null);
  const [problem, setProblem] = React.useState<LoadProblem | null>(null);
  React.useEffect(() => {
    let cancelled = false;
    fetch(id)
      .then(fetched => {
        if (!cancelled && fetched) {
          setItem(fetched);
          setProblem(null);
        }
      })
      .catch(reason => {
        if (!cancelled) {
          setProblem(errorText(reason));
        }
      });
    const onChanged = (_: unknown, value: T) => {
      if (value.id === id) {
        setItem(value);
      }
    };
    changed.connect(onChanged);
    return () => {
      cancelled = true;
      changed.disconnect(onChanged);
    };
  }, [id, fetch, changed]);
  return [item, problem];
}
