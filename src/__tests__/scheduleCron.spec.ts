import {
  formatInZone,
  formatRelative,
  parseTime,
  presetExpression,
  presetOf,
  timeZoneNames
} from '../schedules/cron';

describe('cron presets', () => {
  const base = { minute: 30, hour: 7, weekday: 5, monthday: 15 };

  it('writes the expression of each preset', () => {
    expect(presetExpression({ ...base, kind: 'hourly' })).toBe('30 * * * *');
    expect(presetExpression({ ...base, kind: 'daily' })).toBe('30 7 * * *');
    expect(presetExpression({ ...base, kind: 'weekdays' })).toBe(
      '30 7 * * MON-FRI'
    );
    expect(presetExpression({ ...base, kind: 'weekly' })).toBe('30 7 * * FRI');
    expect(presetExpression({ ...base, kind: 'monthly' })).toBe('30 7 15 * *');
    expect(presetExpression({ ...base, kind: 'custom' })).toBeNull();
  });

  it('recognises the presets back, and anything else as custom', () => {
    for (const kind of [
      'hourly',
      'daily',
      'weekdays',
      'weekly',
      'monthly'
    ] as const) {
      const expression = presetExpression({ ...base, kind })!;
      expect(presetOf(expression).kind).toBe(kind);
      expect(presetExpression(presetOf(expression))).toBe(expression);
    }
    expect(presetOf('0 6 * * 1-5').kind).toBe('weekdays');
    expect(presetOf('0 6 * * 7')).toMatchObject({ kind: 'weekly', weekday: 0 });
    expect(presetOf('@daily')).toMatchObject({ kind: 'daily', hour: 0 });
    expect(presetOf('*/15 * * * *').kind).toBe('custom');
    expect(presetOf('0 6 1 JAN *').kind).toBe('custom');
    expect(presetOf('0 6 1 * MON').kind).toBe('custom');
    expect(presetOf('nonsense').kind).toBe('custom');
  });

  it('reads time inputs', () => {
    expect(parseTime('07:05')).toEqual({ hour: 7, minute: 5 });
    expect(parseTime('24:00')).toBeNull();
    expect(parseTime('')).toBeNull();
  });
});

describe('times', () => {
  it('says how far ahead (or back) a time is', () => {
    const now = 1700000000;
    expect(formatRelative(now + 3 * 3600 + 100, now)).toBe('in 3 h');
    expect(formatRelative(now + 300, now)).toBe('in 5 min');
    expect(formatRelative(now + 30, now)).toBe('in 30 s');
    expect(formatRelative(now, now)).toBe('now');
    expect(formatRelative(now + 2 * 86400, now)).toBe('in 2 days');
    expect(formatRelative(now - 600, now)).toBe('10 min ago');
  });

  it('shows a time in a zone, falling back to the local one', () => {
    // 2023-11-14 22:13:20 UTC
    const time = 1700000000;
    expect(formatInZone(time, 'UTC')).toContain('22:13');
    expect(formatInZone(time, 'Asia/Tokyo')).toContain('07:13');
    expect(formatInZone(time, 'Mars/Olympus')).toBe(formatInZone(time, null));
    // Another year is shown (a yearly schedule's next runs are otherwise alike).
    const nextYear = new Date().getUTCFullYear() + 1;
    const inNextYear = Date.UTC(nextYear, 5, 1, 6, 0) / 1000;
    expect(formatInZone(inNextYear, 'UTC')).toContain(String(nextYear));
    const thisYear = Date.UTC(nextYear - 1, 5, 1, 6, 0) / 1000;
    expect(formatInZone(thisYear, 'UTC')).not.toContain(String(nextYear - 1));
    expect(formatInZone(thisYear, 'UTC', { year: true })).toContain(
      String(nextYear - 1)
    );
  });

  it('lists IANA zones, UTC first', () => {
    const zones = timeZoneNames();
    expect(zones[0]).toBe('UTC');
    expect(zones).toContain('Europe/Berlin');
  });
});
