/**
 * Cron presets as the schedule form offers them (hourly, daily at a time,
 * weekdays, weekly, monthly, custom), the expressions they stand for and
 * back, and how due times are shown: in a time zone, and relative to now.
 *
 * The server parses and describes cron expressions (croniter); this only
 * writes the few shapes the presets stand for, and recognises them.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { allOf } from '../api';
import { formatRelativeTime } from '../jobs/format';

const defaultTrans = nullTranslator.load('jupyter-dataops');

/** The presets the form offers. */
export type PresetKind =
  'hourly' | 'daily' | 'weekdays' | 'weekly' | 'monthly' | 'custom';

export const PRESET_KINDS = allOf<PresetKind>()([
  'hourly',
  'daily',
  'weekdays',
  'weekly',
  'monthly',
  'custom'
]);

/** A preset and the values it takes. */
export interface IPreset {
  kind: PresetKind;
  /** 0-59 */
  minute: number;
  /** 0-23 (not used by `hourly`) */
  hour: number;
  /** 0 (Sunday) to 6 (Saturday), for `weekly` */
  weekday: number;
  /** 1-31, for `monthly` */
  monthday: number;
}

/** Weekday names as cron writes them, Sunday first. */
export const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The preset a new schedule starts with: every day at 06:00. */
export const DEFAULT_PRESET: IPreset = {
  kind: 'daily',
  minute: 0,
  hour: 6,
  weekday: 1,
  monthday: 1
};

/** The expression a preset stands for, or null for `custom`. */
export function presetExpression(preset: IPreset): string | null {
  const m = preset.minute;
  const h = preset.hour;
  switch (preset.kind) {
    case 'hourly':
      return `${m} * * * *`;
    case 'daily':
      return `${m} ${h} * * *`;
    case 'weekdays':
      return `${m} ${h} * * MON-FRI`;
    case 'weekly':
      return `${m} ${h} * * ${WEEKDAY_NAMES[preset.weekday] ?? 'MON'}`;
    case 'monthly':
      return `${m} ${h} ${preset.monthday} * *`;
    case 'custom':
      return null;
  }
}

const ALIASES: { [alias: string]: string } = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * SUN',
  '@monthly': '0 0 1 * *'
};

/** A whole number in `[low, high]` written plainly, or null. */
function plainNumber(text: string, low: number, high: number): number | null {
  if (!/^\d{1,2}$/.test(text)) {
    return null;
  }
  const value = Number(text);
  return value >= low && value <= high ? value : null;
}

/** A single weekday (0-7 or SUN-SAT) as 0-6, or null. */
function weekdayOf(text: string): number | null {
  const index = WEEKDAY_NAMES.indexOf(text.toUpperCase());
  if (index >= 0) {
    return index;
  }
  const value = plainNumber(text, 0, 7);
  return value === null ? null : value % 7;
}

/**
 * The preset an expression is, so editing a schedule shows the preset it was
 * made with; `custom` (with the default values) when it is none of them.
 */
export function presetOf(expression: string): IPreset {
  const text = expression.trim().replace(/\s+/g, ' ');
  const fields = (ALIASES[text.toLowerCase()] ?? text).split(' ');
  const custom: IPreset = { ...DEFAULT_PRESET, kind: 'custom' };
  if (fields.length !== 5) {
    return custom;
  }
  const [min, hour, dom, month, dow] = fields;
  const minute = plainNumber(min, 0, 59);
  if (minute === null || month !== '*') {
    return custom;
  }
  if (hour === '*' && dom === '*' && dow === '*') {
    return { ...custom, kind: 'hourly', minute };
  }
  const h = plainNumber(hour, 0, 23);
  if (h === null) {
    return custom;
  }
  const base = { ...DEFAULT_PRESET, minute, hour: h };
  if (dom === '*' && dow === '*') {
    return { ...base, kind: 'daily' };
  }
  if (dom === '*' && /^(MON-FRI|1-5)$/i.test(dow)) {
    return { ...base, kind: 'weekdays' };
  }
  if (dom === '*') {
    const weekday = weekdayOf(dow);
    return weekday === null ? custom : { ...base, kind: 'weekly', weekday };
  }
  const monthday = plainNumber(dom, 1, 31);
  if (dow === '*' && monthday !== null) {
    return { ...base, kind: 'monthly', monthday };
  }
  return custom;
}

/** `HH:MM` for a time input. */
export function timeText(preset: Pick<IPreset, 'hour' | 'minute'>): string {
  return `${String(preset.hour).padStart(2, '0')}:${String(
    preset.minute
  ).padStart(2, '0')}`;
}

/** A time input's `HH:MM` as hour and minute, or null. */
export function parseTime(
  text: string
): Pick<IPreset, 'hour' | 'minute'> | null {
  const match = /^(\d{1,2}):(\d{2})/.exec(text.trim());
  if (!match) {
    return null;
  }
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  return hour <= 23 && minute <= 59 ? { hour, minute } : null;
}

/** The user's time zone, as the browser knows it (UTC if it does not). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

let zones: string[] | null = null;

/** The IANA time zone names this browser knows, UTC first. */
export function timeZoneNames(): ReadonlyArray<string> {
  if (zones === null) {
    let names: string[] = [];
    try {
      const supported = (
        Intl as unknown as {
          supportedValuesOf?: (key: string) => string[];
        }
      ).supportedValuesOf;
      names = supported ? supported('timeZone') : [];
    } catch {
      names = [];
    }
    zones = ['UTC', ...names.filter(name => name !== 'UTC')];
  }
  return zones;
}

/** Whether the browser can show times in this zone. */
export function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The calendar year of `time` (POSIX seconds) in `zone` (or the local zone). */
function yearIn(time: number, zone: string | null): string {
  const date = new Date(time * 1000);
  if (zone) {
    try {
      return new Intl.DateTimeFormat('en-US', {
        year: 'numeric',
        timeZone: zone
      }).format(date);
    } catch {
      // An unknown zone: the local year, as formatInZone falls back.
    }
  }
  return String(date.getFullYear());
}

/**
 * A due time (POSIX seconds) as a date and time in a zone, e.g.
 * `Mon, Dec 1, 06:00` (24-hour, as the server's plain words are); in the
 * browser's zone if the zone is unknown here. The year is shown when it is
 * not this year (or as `options.year` says).
 */
export function formatInZone(
  time: number,
  zone: string | null,
  options: { year?: boolean; zoneName?: boolean } = {}
): string {
  const showYear =
    options.year ?? yearIn(time, zone) !== yearIn(Date.now() / 1000, zone);
  const format: Intl.DateTimeFormatOptions = {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    year: showYear ? 'numeric' : undefined,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: options.zoneName ? 'short' : undefined
  };
  const date = new Date(time * 1000);
  if (zone) {
    try {
      return new Intl.DateTimeFormat(undefined, {
        ...format,
        timeZone: zone
      }).format(date);
    } catch {
      // A zone this browser does not know: fall back to the local one.
    }
  }
  return new Intl.DateTimeFormat(undefined, format).format(date);
}

/**
 * A time relative to `now` (both POSIX seconds), in the future or past:
 * `in 40 s`, `in 5 min`, `in 3 h`, `in 2 days`, or `5 min ago`.
 */
export function formatRelative(
  time: number,
  now: number,
  trans: TranslationBundle = defaultTrans
): string {
  const delta = time - now;
  if (delta < -45) {
    return formatRelativeTime(time, now, trans);
  }
  if (delta < 45) {
    return delta < 1 ? trans.__('now') : trans.__('in %1 s', Math.round(delta));
  }
  if (delta < 3600) {
    return trans.__('in %1 min', Math.max(1, Math.round(delta / 60)));
  }
  if (delta < 86400) {
    return trans.__('in %1 h', Math.round(delta / 3600));
  }
  const days = Math.round(delta / 86400);
  return trans._n('in %1 day', 'in %1 days', days);
}
