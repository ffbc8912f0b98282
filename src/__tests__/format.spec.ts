import {
  formatDuration,
  formatRelativeTime,
  jobDuration,
  progressFraction,
  stripAnsi
} from '../jobs/format';
import { makeJob } from './fixtures';

describe('stripAnsi', () => {
  it('removes the colour codes of an IPython traceback', () => {
    const line =
      '\u001b[0;31mValueError\u001b[0m: bad alpha \u001b[1;32m0.7\u001b[0m';
    expect(stripAnsi(line)).toBe('ValueError: bad alpha 0.7');
  });

  it('removes OSC hyperlinks and leaves plain text alone', () => {
    expect(
      stripAnsi('\u001b]8;;file:///x.py\u0007x.py\u001b]8;;\u0007 line 3')
    ).toBe('x.py line 3');
    expect(stripAnsi('plain [text]')).toBe('plain [text]');
  });
});

describe('formatDuration', () => {
  it('picks a unit for people', () => {
    expect(formatDuration(0.25)).toBe('250 ms');
    expect(formatDuration(12.34)).toBe('12.3 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
    expect(formatDuration(7830)).toBe('2 h 10 min');
    expect(formatDuration(-1)).toBe('');
  });
});

describe('formatRelativeTime', () => {
  const now = 1700000000;
  it('says how long ago', () => {
    expect(formatRelativeTime(now - 10, now)).toBe('just now');
    expect(formatRelativeTime(now - 300, now)).toBe('5 min ago');
    expect(formatRelativeTime(now - 3600, now)).toBe('1 hour ago');
    expect(formatRelativeTime(now - 3 * 3600, now)).toBe('3 hours ago');
    expect(formatRelativeTime(now - 2 * 86400, now)).toBe('2 days ago');
  });
});

describe('jobDuration', () => {
  it('is null before the job starts', () => {
    expect(jobDuration(makeJob(), 1700000100)).toBeNull();
  });

  it('runs to now while running, and to the finish after', () => {
    const running = makeJob({ status: 'running', started_at: 1700000010 });
    expect(jobDuration(running, 1700000040)).toBe(30);
    const done = makeJob({
      status: 'completed',
      started_at: 1700000010,
      finished_at: 1700000015
    });
    expect(jobDuration(done, 1700009999)).toBe(5);
  });

  it('is not known for an ended job whose end time has not been fetched', () => {
    // As a job event patches a running job to completed before the refetch.
    const patched = makeJob({
      status: 'completed',
      started_at: 1700000010,
      finished_at: null,
      updated_at: 1700000010
    });
    expect(jobDuration(patched, 1700009999)).toBeNull();
  });
});

describe('progressFraction', () => {
  it('is cells completed over cells total', () => {
    const job = makeJob({
      status: 'running',
      progress: { cells_completed: 1, cells_total: 4, current_cell: 1 }
    });
    expect(progressFraction(job)).toBe(0.25);
  });

  it('is full for a completed job without counts', () => {
    const job = makeJob({
      status: 'completed',
      progress: { cells_completed: 0, cells_total: 0, current_cell: null }
    });
    expect(progressFraction(job)).toBe(1);
  });
});
