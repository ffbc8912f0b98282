import { DataOpsApiError } from '../api';
import { LogFollower } from '../jobs/logs';
import { JobLogs } from '../jobs/types';

/** A log that grows as a job writes it, read by byte offset. */
class FakeLog {
  text = '';
  complete = false;
  reads: number[] = [];
  failNext: DataOpsApiError | null = null;
  /** The most characters one read returns. */
  chunk = 1000;

  read = async (offset: number): Promise<JobLogs> => {
    this.reads.push(offset);
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    const logs = this.text.slice(offset, offset + this.chunk);
    const end = offset + logs.length;
    return {
      logs,
      offset: end,
      complete: this.complete && end >= this.text.length
    };
  };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) {
      throw new Error('Timed out');
    }
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

describe('LogFollower', () => {
  let follower: LogFollower | null = null;
  afterEach(() => {
    follower?.dispose();
    follower = null;
  });

  it('follows a growing log by offset until it is complete', async () => {
    const log = new FakeLog();
    log.text = 'line 1\n';
    follower = new LogFollower({ read: log.read, follow: true, interval: 10 });
    follower.start();
    await until(() => follower!.text === 'line 1\n');
    expect(follower.following).toBe(true);
    log.text += 'line 2\n';
    await until(() => follower!.text === 'line 1\nline 2\n');
    log.complete = true;
    await until(() => follower!.complete);
    expect(follower.following).toBe(false);
    const reads = log.reads.length;
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(log.reads.length).toBe(reads);
    // Each read started where the one before ended, never from 0 again.
    expect(log.reads.filter(offset => offset === 0)).toHaveLength(1);
    expect(log.reads).toContain(7);
  });

  it('reads a long log in chunks, at once', async () => {
    const log = new FakeLog();
    log.text = 'x'.repeat(2500);
    log.complete = true;
    log.chunk = 1000;
    follower = new LogFollower({
      read: log.read,
      follow: true,
      interval: 10000
    });
    follower.start();
    await until(() => follower!.complete, 500);
    expect(log.reads).toEqual([0, 1000, 2000]);
    expect(follower.text).toHaveLength(2500);
  });

  it('reads up to the current end once when the executor cannot follow', async () => {
    const log = new FakeLog();
    log.text = 'a'.repeat(1500);
    follower = new LogFollower({ read: log.read, follow: false, interval: 5 });
    follower.start();
    await until(() => follower!.text.length === 1500);
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(log.reads).toEqual([0, 1000, 1500]);
    expect(follower.following).toBe(false);
    expect(follower.complete).toBe(false);
    log.text += 'more';
    follower.poke();
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(follower.text).toHaveLength(1500);
    // A reload reads it all again from the start.
    follower.reload();
    await until(() => follower!.text.length === 1504);
  });

  it('keeps the end of a log longer than its limit', async () => {
    const log = new FakeLog();
    log.text = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join('');
    log.complete = true;
    follower = new LogFollower({ read: log.read, follow: true, maxChars: 100 });
    follower.start();
    await until(() => follower!.complete);
    expect(follower.truncated).toBe(true);
    expect(follower.text.length).toBeLessThanOrEqual(100);
    expect(follower.text.startsWith('line ')).toBe(true);
    expect(follower.text.endsWith('line 99\n')).toBe(true);
  });

  it('keeps what it read when a read fails, and retries', async () => {
    const log = new FakeLog();
    log.text = 'one\n';
    follower = new LogFollower({
      read: log.read,
      follow: true,
      interval: 5,
      maxInterval: 20
    });
    follower.start();
    await until(() => follower!.text === 'one\n');
    log.failNext = new DataOpsApiError({
      kind: 'network',
      status: 0,
      message: 'Could not reach the Jupyter server.'
    });
    await until(() => follower!.error !== null);
    expect(follower.text).toBe('one\n');
    log.text += 'two\n';
    await until(() => follower!.text === 'one\ntwo\n');
    expect(follower.error).toBeNull();
  });
});
