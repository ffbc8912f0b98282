/**
 * What the collection sections share beyond the list: the button a section
 * heading carries (Start, Publish, Take snapshot) and the page of a list
 * route that answers every item at once.
 */
import type { CommandRegistry } from '@lumino/commands';
import { LabIcon, ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { ICollectionPage } from './model';

/** A section heading's action button. */
export interface IHeadingButtonProps {
  commands: CommandRegistry;
  /** The command it runs. */
  command: string;
  label: string;
  title: string;
  icon: LabIcon;
  /** Extra class names (besides jp-DataOps-takeButton). */
  className?: string;
  disabled?: boolean;
  /** Shown instead of the icon (a spinner while it works). */
  busyIcon?: JSX.Element | null;
}

/**
 * A button in a section heading: its click runs the command and does not
 * toggle the section (the heading toggles on click).
 */
export function HeadingButton(props: IHeadingButtonProps): JSX.Element {
  const { commands, command, label, title, icon, className, disabled } = props;
  return (
    <button
      className={`jp-DataOps-takeButton${className ? ` ${className}` : ''}`}
      title={title}
      disabled={disabled}
      onClick={event => {
        event.stopPropagation();
        void commands.execute(command);
      }}
      onKeyDown={event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.stopPropagation();
        }
      }}
    >
      {props.busyIcon ?? (
        <icon.react tag="span" className="jp-DataOps-takeIcon" />
      )}
      <span>{label}</span>
    </button>
  );
}

/** A widget for a section heading's toolbar, rendering ``element``. */
export function headingWidget(element: JSX.Element): ReactWidget {
  const widget = ReactWidget.create(element);
  widget.addClass('jp-DataOps-toolbarItem');
  return widget;
}

/**
 * A collection page from a list route that answers every item at once: the
 * items asked for by id (all without ids), with counts by status.
 */
export function wholeListPage<TItem extends { status: string }>(
  all: ReadonlyArray<TItem>,
  total: number,
  ids: ReadonlyArray<string> | null | undefined,
  idOf: (item: TItem) => string,
  seq: number
): ICollectionPage<TItem> {
  const wanted = ids?.length ? new Set(ids) : null;
  const items = wanted ? all.filter(item => wanted.has(idOf(item))) : [...all];
  const counts: { [status: string]: number } = {};
  for (const item of all) {
    counts[item.status] = (counts[item.status] ?? 0) + 1;
  }
  return {
    items,
    next_cursor: null,
    prev_cursor: null,
    total: wanted ? items.length : total,
    total_is_estimate: false,
    counts,
    seq
  };
}
