/**
 * The schedule fields of the run dialog ("On a schedule"): cron presets, the
 * expression with the server's live preview, the time zone, the misfire and
 * concurrency policies, and the notifications.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { DataOpsApiError, errorText } from '../api';
import {
  browserTimeZone,
  formatInZone,
  IPreset,
  parseTime,
  presetExpression,
  presetOf,
  PRESET_KINDS,
  PresetKind,
  timeText,
  timeZoneNames
} from './cron';
import { IScheduleInput, isRedacted, ScheduleErrors } from './definition';
import {
  concurrencyHelp,
  concurrencyLabel,
  misfireHelp,
  misfireLabel,
  presetLabel,
  weekdayLabels
} from './labels';
import {
  CONCURRENCY_POLICIES,
  ConcurrencyPolicy,
  CronPreview,
  MISFIRE_POLICIES,
  MisfirePolicy
} from './types';

/** The fields of a cron expression, as the server's messages name them. */
export const CRON_FIELDS = [
  'minute',
  'hour',
  'day-of-month',
  'month',
  'day-of-week'
];

/** Milliseconds the preview waits for the user to stop typing. */
export const PREVIEW_DELAY = 350;

/** What the preview shows for one expression and zone. */
export interface IPreviewState {
  /** The expression and zone it is for. */
  cron: string;
  timezone: string;
  status: 'idle' | 'loading' | 'ok' | 'error';
  preview: CronPreview | null;
  error: {
    message: string;
    hint: string | null;
    /** The cron field the server named (`minute`...), or `timezone`. */
    field: string | null;
  } | null;
}

/** The field an error of the preview names: a cron field, the zone, or none. */
export function previewErrorField(reason: unknown): string | null {
  if (!(reason instanceof DataOpsApiError)) {
    return null;
  }
  const field = reason.details.field;
  if (typeof field === 'string') {
    return field;
  }
  if ('timezone' in reason.details) {
    return 'timezone';
  }
  return null;
}

/**
 * The server's preview of an expression in a zone, asked for once the user
 * stops typing for `delay` ms; answers to older inputs are dropped.
 */
export function useCronPreview(
  fetch: (cron: string, timezone: string) => Promise<CronPreview>,
  cron: string,
  timezone: string,
  delay: number = PREVIEW_DELAY
): IPreviewState {
  const [state, setState] = React.useState<IPreviewState>({
    cron,
    timezone,
    status: 'idle',
    preview: null,
    error: null
  });
  // The latest function, without asking again when only its identity changes.
  const fetchRef = React.useRef(fetch);
  fetchRef.current = fetch;
  React.useEffect(() => {
    const wanted = cron.trim();
    const zone = timezone.trim();
    if (!wanted || !zone) {
      setState({ cron, timezone, status: 'idle', preview: null, error: null });
      return;
    }
    let cancelled = false;
    // Keep what was shown (dimmed) until the answer comes.
    setState(current => ({ ...current, cron, timezone, status: 'loading' }));
    const timer = setTimeout(() => {
      fetchRef
        .current(wanted, zone)
        .then(preview => {
          if (!cancelled) {
            setState({ cron, timezone, status: 'ok', preview, error: null });
          }
        })
        .catch(reason => {
          if (!cancelled) {
            setState({
              cron,
              timezone,
              status: 'error',
              preview: null,
              error: { ...errorText(reason), field: previewErrorField(reason) }
            });
          }
        });
    }, delay);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [cron, timezone, delay]);
  return state;
}

export interface IScheduleFieldsProps {
  input: IScheduleInput;
  /** What the form itself finds wrong. */
  errors: ScheduleErrors;
  preview: IPreviewState;
  /** Whether the schedule being edited has a webhook (shown shortened). */
  redactedWebhook: boolean;
  onChange: (input: IScheduleInput) => void;
  trans: TranslationBundle;
}

/** The schedule fields. */
export function ScheduleFields(props: IScheduleFieldsProps): JSX.Element {
  const { input, errors, preview, trans } = props;
  const set = (changes: Partial<IScheduleInput>) =>
    props.onChange({ ...input, ...changes });
  const setPreset = (changes: Partial<IPreset>) => {
    const preset = { ...input.preset, ...changes };
    const cron = presetExpression(preset);
    set({ preset, cron: cron ?? input.cron });
  };
  const setCron = (cron: string) => {
    // Typing an expression a preset writes shows that preset.
    const preset = presetOf(cron);
    set({
      cron,
      preset:
        preset.kind === 'custom' ? { ...input.preset, kind: 'custom' } : preset
    });
  };
  const kind = input.preset.kind;
  const shownError =
    preview.status === 'error' &&
    preview.cron === input.cron &&
    preview.timezone === input.timezone
      ? preview.error
      : null;
  const zoneError =
    errors.timezone ??
    (shownError?.field === 'timezone' ? shownError.message : undefined);
  const cronError =
    errors.cron ??
    (shownError && shownError.field !== 'timezone'
      ? shownError.message
      : undefined);
  const weekdays = weekdayLabels(trans);
  const zones = timeZoneNames();
  const local = browserTimeZone();
  return (
    <>
      <fieldset className="jp-DataOps-RunForm-section jp-DataOps-scheduleWhen">
        <legend>{trans.__('When')}</legend>
        <div className="jp-DataOps-presetRow">
          <div className="jp-DataOps-field jp-DataOps-presetField">
            <label htmlFor="jp-DataOps-preset">{trans.__('Repeat')}</label>
            <select
              id="jp-DataOps-preset"
              className="jp-mod-styled"
              value={kind}
              onChange={event =>
                setPreset({ kind: event.target.value as PresetKind })
              }
            >
              {PRESET_KINDS.map(item => (
                <option key={item} value={item}>
                  {presetLabel(item, trans)}
                </option>
              ))}
            </select>
          </div>
          {kind === 'weekly' && (
            <div className="jp-DataOps-field">
              <label htmlFor="jp-DataOps-weekday">{trans.__('On')}</label>
              <select
                id="jp-DataOps-weekday"
                className="jp-mod-styled"
                value={input.preset.weekday}
                onChange={event =>
                  setPreset({ weekday: Number(event.target.value) })
                }
              >
                {[1, 2, 3, 4, 5, 6, 0].map(day => (
                  <option key={day} value={day}>
                    {weekdays[day]}
                  </option>
                ))}
              </select>
            </div>
          )}
          {kind === 'monthly' && (
            <div className="jp-DataOps-field jp-DataOps-narrowField">
              <label htmlFor="jp-DataOps-monthday">{trans.__('Day')}</label>
              <select
                id="jp-DataOps-monthday"
                className="jp-mod-styled"
                value={input.preset.monthday}
                onChange={event =>
                  setPreset({ monthday: Number(event.target.value) })
                }
              >
                {Array.from({ length: 31 }, (_, index) => index + 1).map(
                  day => (
                    <option key={day} value={day}>
                      {day}
                    </option>
                  )
                )}
              </select>
            </div>
          )}
          {kind === 'hourly' && (
            <div className="jp-DataOps-field jp-DataOps-narrowField">
              <label htmlFor="jp-DataOps-minute">{trans.__('At minute')}</label>
              <select
                id="jp-DataOps-minute"
                className="jp-mod-styled"
                value={input.preset.minute}
                onChange={event =>
                  setPreset({ minute: Number(event.target.value) })
                }
              >
                {Array.from({ length: 12 }, (_, index) => index * 5).map(
                  minute => (
                    <option key={minute} value={minute}>
                      {`:${String(minute).padStart(2, '0')}`}
                    </option>
                  )
                )}
                {input.preset.minute % 5 !== 0 && (
                  <option value={input.preset.minute}>
                    {`:${String(input.preset.minute).padStart(2, '0')}`}
                  </option>
                )}
              </select>
            </div>
          )}
          {kind !== 'hourly' && kind !== 'custom' && (
            <div className="jp-DataOps-field jp-DataOps-timeField">
              <label htmlFor="jp-DataOps-time">{trans.__('At')}</label>
              <input
                id="jp-DataOps-time"
                className="jp-mod-styled"
                type="time"
                required
                value={timeText(input.preset)}
                onChange={event => {
                  const time = parseTime(event.target.value);
                  if (time) {
                    setPreset(time);
                  }
                }}
              />
            </div>
          )}
        </div>
        <div className="jp-DataOps-field">
          <label htmlFor="jp-DataOps-cron">{trans.__('Cron expression')}</label>
          <input
            id="jp-DataOps-cron"
            className={`jp-mod-styled jp-DataOps-cron${
              cronError ? ' jp-DataOps-invalid' : ''
            }`}
            type="text"
            spellCheck={false}
            autoComplete="off"
            placeholder="0 6 * * *"
            aria-invalid={!!cronError}
            aria-describedby="jp-DataOps-cronFields"
            value={input.cron}
            onChange={event => setCron(event.target.value)}
          />
          <div
            id="jp-DataOps-cronFields"
            className="jp-DataOps-cronFields"
            aria-hidden="true"
          >
            {CRON_FIELDS.map(field => (
              <span
                key={field}
                className={
                  shownError?.field === field ? 'jp-mod-error-field' : ''
                }
              >
                {cronFieldLabel(field, trans)}
              </span>
            ))}
          </div>
          {cronError && (
            <div className="jp-DataOps-fieldError" role="alert">
              {cronError}
              {shownError?.hint && shownError.field !== 'timezone' && (
                <div className="jp-DataOps-fieldHint">{shownError.hint}</div>
              )}
            </div>
          )}
        </div>
        <div className="jp-DataOps-field">
          <label htmlFor="jp-DataOps-timezone">{trans.__('Time zone')}</label>
          <input
            id="jp-DataOps-timezone"
            className={`jp-mod-styled${zoneError ? ' jp-DataOps-invalid' : ''}`}
            type="text"
            list="jp-DataOps-timezones"
            spellCheck={false}
            autoComplete="off"
            placeholder={local}
            value={input.timezone}
            onChange={event => set({ timezone: event.target.value })}
          />
          <datalist id="jp-DataOps-timezones">
            {zones.map(zone => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
          {zoneError ? (
            <div className="jp-DataOps-fieldError" role="alert">
              {zoneError}
              {shownError?.hint && shownError.field === 'timezone' && (
                <div className="jp-DataOps-fieldHint">{shownError.hint}</div>
              )}
            </div>
          ) : (
            input.timezone.trim() !== local && (
              <div className="jp-DataOps-help">
                {trans.__('Your browser’s zone is %1.', local)}{' '}
                <button
                  type="button"
                  className="jp-DataOps-inlineLink"
                  onClick={() => set({ timezone: local })}
                >
                  {trans.__('Use it')}
                </button>
              </div>
            )
          )}
        </div>
        <PreviewBox preview={preview} input={input} trans={trans} />
      </fieldset>
      <fieldset className="jp-DataOps-RunForm-section jp-DataOps-schedulePolicies">
        <legend>{trans.__('Missed and overlapping runs')}</legend>
        <div className="jp-DataOps-field">
          <label htmlFor="jp-DataOps-misfire">
            {trans.__('When due times were missed')}
          </label>
          <select
            id="jp-DataOps-misfire"
            className="jp-mod-styled"
            value={input.misfirePolicy}
            onChange={event =>
              set({ misfirePolicy: event.target.value as MisfirePolicy })
            }
          >
            {MISFIRE_POLICIES.map(policy => (
              <option key={policy} value={policy}>
                {misfireLabel(policy, trans)}
              </option>
            ))}
          </select>
          <div className="jp-DataOps-help">
            {misfireHelp(input.misfirePolicy, trans)}
          </div>
        </div>
        {input.misfirePolicy === 'skip' && (
          <div className="jp-DataOps-field">
            <label htmlFor="jp-DataOps-grace">
              {trans.__('Grace period (seconds)')}
            </label>
            <input
              id="jp-DataOps-grace"
              className={`jp-mod-styled${
                errors.grace ? ' jp-DataOps-invalid' : ''
              }`}
              type="number"
              min={0}
              step="any"
              value={input.grace}
              onChange={event => set({ grace: event.target.value })}
            />
            {errors.grace && (
              <div className="jp-DataOps-fieldError" role="alert">
                {errors.grace}
              </div>
            )}
          </div>
        )}
        <div className="jp-DataOps-field">
          <label htmlFor="jp-DataOps-concurrency">
            {trans.__('When the previous run still runs')}
          </label>
          <select
            id="jp-DataOps-concurrency"
            className="jp-mod-styled"
            value={input.concurrencyPolicy}
            onChange={event =>
              set({
                concurrencyPolicy: event.target.value as ConcurrencyPolicy
              })
            }
          >
            {CONCURRENCY_POLICIES.map(policy => (
              <option key={policy} value={policy}>
                {concurrencyLabel(policy, trans)}
              </option>
            ))}
          </select>
          <div className="jp-DataOps-help">
            {concurrencyHelp(input.concurrencyPolicy, trans)}
          </div>
        </div>
      </fieldset>
      <fieldset className="jp-DataOps-RunForm-section jp-DataOps-scheduleNotify">
        <legend>{trans.__('Notifications')}</legend>
        <div className="jp-DataOps-help">
          {trans.__(
            'Failed runs always show in JupyterLab’s notifications. A webhook and e-mail can tell others too.'
          )}
        </div>
        <div className="jp-DataOps-checkRow">
          <label>
            <input
              id="jp-DataOps-notifyFailure"
              type="checkbox"
              checked={input.onFailure}
              onChange={event => set({ onFailure: event.target.checked })}
            />
            {trans.__('On failure')}
          </label>
          <label>
            <input
              id="jp-DataOps-notifySuccess"
              type="checkbox"
              checked={input.onSuccess}
              onChange={event => set({ onSuccess: event.target.checked })}
            />
            {trans.__('On success')}
          </label>
        </div>
        <div className="jp-DataOps-field">
          <label htmlFor="jp-DataOps-webhook">{trans.__('Webhook URL')}</label>
          <input
            id="jp-DataOps-webhook"
            className={`jp-mod-styled${
              errors.webhook ? ' jp-DataOps-invalid' : ''
            }`}
            type="text"
            spellCheck={false}
            autoComplete="off"
            placeholder="https://hooks.slack.com/services/…"
            value={input.webhook}
            onChange={event => set({ webhook: event.target.value })}
          />
          {errors.webhook ? (
            <div className="jp-DataOps-fieldError" role="alert">
              {errors.webhook}
            </div>
          ) : props.redactedWebhook && isRedacted(input.webhook) ? (
            <div className="jp-DataOps-help">
              {trans.__(
                'Shown shortened: the full URL is kept as it is unless you change it.'
              )}
            </div>
          ) : (
            <div className="jp-DataOps-help">
              {trans.__('Gets a Slack-compatible JSON message.')}
            </div>
          )}
        </div>
        <div className="jp-DataOps-field">
          <label htmlFor="jp-DataOps-emails">
            {trans.__('E-mail addresses')}
          </label>
          <input
            id="jp-DataOps-emails"
            className={`jp-mod-styled${
              errors.emails ? ' jp-DataOps-invalid' : ''
            }`}
            type="text"
            spellCheck={false}
            placeholder={trans.__('ana@example.org, ops@example.org')}
            value={input.emails}
            onChange={event => set({ emails: event.target.value })}
          />
          {errors.emails && (
            <div className="jp-DataOps-fieldError" role="alert">
              {errors.emails}
            </div>
          )}
        </div>
      </fieldset>
    </>
  );
}

/** The name of a cron field, as the legend under the expression shows it. */
function cronFieldLabel(field: string, trans: TranslationBundle): string {
  switch (field) {
    case 'minute':
      return trans.__('minute');
    case 'hour':
      return trans.__('hour');
    case 'day-of-month':
      return trans.__('day (month)');
    case 'month':
      return trans.__('month');
    case 'day-of-week':
      return trans.__('day (week)');
    default:
      return field;
  }
}

/** The expression in plain words, and its next five due times in the zone. */
function PreviewBox(props: {
  preview: IPreviewState;
  input: IScheduleInput;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { preview, trans } = props;
  if (!preview.preview) {
    if (preview.status === 'loading') {
      return (
        <div className="jp-DataOps-preview jp-mod-loading" aria-live="polite">
          {trans.__('Reading the expression…')}
        </div>
      );
    }
    return null;
  }
  const shown = preview.preview;
  const stale = preview.status === 'loading';
  const local = browserTimeZone();
  return (
    <div
      className={`jp-DataOps-preview${stale ? ' jp-mod-loading' : ''}`}
      aria-live="polite"
      aria-busy={stale}
    >
      <div className="jp-DataOps-previewWords">{shown.description}</div>
      <div className="jp-DataOps-previewLabel">
        {trans.__('Next runs (%1)', shown.timezone)}
      </div>
      <ol className="jp-DataOps-nextRuns">
        {shown.next_runs.map(time => (
          <li
            key={time}
            title={
              shown.timezone !== local
                ? trans.__(
                    '%1 in your zone (%2)',
                    formatInZone(time, local, { year: true }),
                    local
                  )
                : formatInZone(time, local, { year: true })
            }
          >
            {formatInZone(time, shown.timezone)}
          </li>
        ))}
      </ol>
    </div>
  );
}
