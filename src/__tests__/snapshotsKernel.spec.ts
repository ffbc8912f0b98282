import { KernelMessage } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import {
  currentNotebookKernel,
  CurrentNotebookKernel,
  executeInKernel,
  isPythonKernel,
  KernelCodeError,
  loadCode,
  loadMagicLine,
  loadReport,
  magicCode,
  parseSnapshotOutput,
  pythonString,
  shellQuote,
  takeCode,
  takeMagicLine
} from '../snapshots/kernel';
import { makeSnapshot } from './fakeSnapshotsClient';

/**
 * What `shlex.split` (POSIX) makes of a line, for the quoting this module
 * writes: bare words, single-quoted runs, and `"'"` between them.
 */
function shlexSplit(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let index = 0;
  while (index < line.length) {
    const char = line[index];
    if (char === ' ') {
      if (word !== null) {
        words.push(word);
        word = null;
      }
      index++;
    } else if (char === "'") {
      const end = line.indexOf("'", index + 1);
      expect(end).toBeGreaterThan(index);
      word = (word ?? '') + line.slice(index + 1, end);
      index = end + 1;
    } else if (char === '"') {
      const end = line.indexOf('"', index + 1);
      expect(end).toBeGreaterThan(index);
      word = (word ?? '') + line.slice(index + 1, end);
      index = end + 1;
    } else {
      word = (word ?? '') + char;
      index++;
    }
  }
  if (word !== null) {
    words.push(word);
  }
  return words;
}

/** The magic line inside the code, as Python reads the string literal. */
function magicLineOf(code: string): string {
  const match = /run_line_magic\("dataops", (".*")\);$/.exec(code);
  expect(match).not.toBeNull();
  // JSON's escapes are Python's: JSON.parse reads it as Python would.
  return JSON.parse(match![1]);
}

const MESSAGES = [
  'plain',
  'two words',
  "it's “quoted” and \"double\" 'single'",
  'dollars $HOME `tick` \\backslash\\ ; | & > <',
  'ünïcödé 数据 🚀 emoji',
  'line one\nline two\ttab',
  '-starts with a dash',
  "'",
  ''
];

describe('the magic lines a kernel runs', () => {
  it('quotes words for shlex: safe ones bare, others in single quotes', () => {
    expect(shellQuote('data/sales.csv')).toBe('data/sales.csv');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('two words')).toBe("'two words'");
    expect(shellQuote("it's")).toBe(`'it'"'"'s'`);
    expect(shellQuote('ünï')).toBe("'ünï'");
    for (const message of MESSAGES) {
      expect(shlexSplit(shellQuote(message))).toEqual([message]);
    }
  });

  it('writes Python string literals for any text', () => {
    expect(pythonString('a "b" \\ c')).toBe('"a \\"b\\" \\\\ c"');
    expect(pythonString('x\ny')).toBe('"x\\ny"');
    expect(pythonString('\u2028\u2029')).toBe('"\\u2028\\u2029"');
    expect(pythonString('数据 🚀')).toBe('"数据 🚀"');
    for (const message of MESSAGES) {
      expect(JSON.parse(pythonString(message))).toBe(message);
    }
  });

  it('takes a snapshot with the kernel’s variables, as JSON, whatever the message', () => {
    for (const message of MESSAGES) {
      const code = takeCode({ message });
      const words = shlexSplit(magicLineOf(code));
      expect(words.slice(0, 3)).toEqual(['snapshot', '--variables', '--json']);
      if (message) {
        expect(words).toContain(`--message=${message}`);
        expect(words).toHaveLength(4);
      } else {
        expect(words).toHaveLength(3);
      }
    }
  });

  it('sets the project up, records the kernel and passes data paths after --', () => {
    const line = takeMagicLine(
      {
        message: 'first one',
        paths: ['data', 'my models', '-odd'],
        init: true
      },
      'python3'
    );
    expect(line).toBe(
      "snapshot --variables --json --init --kernel=python3 --message='first one' -- data 'my models' -odd"
    );
    expect(shlexSplit(line)).toEqual([
      'snapshot',
      '--variables',
      '--json',
      '--init',
      '--kernel=python3',
      '--message=first one',
      '--',
      'data',
      'my models',
      '-odd'
    ]);
    expect(takeMagicLine({ message: 'x', init: false, paths: null })).toBe(
      'snapshot --variables --json --message=x'
    );
  });

  it('loads the extension quietly and hides the magic’s return value', () => {
    expect(magicCode('snapshots status')).toBe(
      'get_ipython().extension_manager.load_extension("jupyter_dataops"); ' +
        'get_ipython().run_line_magic("dataops", "snapshots status");'
    );
  });

  it('loads a snapshot’s variables, or some', () => {
    expect(loadMagicLine('3f2a9b')).toBe('snapshots load 3f2a9b');
    expect(loadMagicLine('3f2a9b', ['alpha', 'odd name'])).toBe(
      "snapshots load 3f2a9b alpha 'odd name'"
    );
    expect(magicLineOf(loadCode('3f2a9b', ['alpha']))).toBe(
      'snapshots load 3f2a9b alpha'
    );
  });
});

describe('what the kernel printed', () => {
  it('reads the snapshot the magic printed as JSON', () => {
    const snapshot = makeSnapshot({ id: 'kern12345678' });
    const printed = JSON.stringify(snapshot, null, 2);
    expect(parseSnapshotOutput(printed + '\n').id).toBe('kern12345678');
    // Something printed before it is left out.
    expect(parseSnapshotOutput(`a warning\n{ not json\n${printed}\n`).id).toBe(
      'kern12345678'
    );
    expect(() => parseSnapshotOutput('')).toThrow('printed nothing');
    expect(() => parseSnapshotOutput('{"no": "id"}')).toThrow(
      'did not print a snapshot'
    );
  });

  it('splits a load report into its first line and the rest, the id shortened', () => {
    const id = '3f2a9b8c7d6e5f40';
    expect(
      loadReport(
        `Loaded alpha, frame from snapshot ${id}.\n  not saved: lock (cannot be pickled)\n`,
        id,
        '3f2a9b8c'
      )
    ).toEqual({
      summary: 'Loaded alpha, frame from snapshot 3f2a9b8c.',
      details: ['not saved: lock (cannot be pickled)']
    });
    expect(loadReport('', id, '3f2a9b8c')).toEqual({
      summary: '',
      details: []
    });
  });

  it('says what a failure in the kernel means', () => {
    const usage = new KernelCodeError(
      'UsageError',
      "No snapshot with id 'zzzz'. List them with `%dataops snapshots`."
    );
    expect(usage.userMessage).toBe(
      "No snapshot with id 'zzzz'. List them with `%dataops snapshots`."
    );
    expect(
      new KernelCodeError(
        'ModuleNotFoundError',
        "No module named 'jupyter_dataops'"
      ).userMessage
    ).toContain('not installed in this kernel’s environment');
    expect(new KernelCodeError('NameError', 'x').userMessage).toBe(
      'NameError: x'
    );
  });
});

/** A kernel that answers one execute request with these messages and reply. */
function fakeKernel(
  iopub: Partial<KernelMessage.IIOPubMessage>[],
  reply: Partial<KernelMessage.IExecuteReplyMsg['content']>
) {
  const requests: KernelMessage.IExecuteRequestMsg['content'][] = [];
  const kernel = {
    requestExecute: (content: KernelMessage.IExecuteRequestMsg['content']) => {
      requests.push(content);
      const future: any = {
        onIOPub: null,
        done: Promise.resolve().then(() => {
          for (const message of iopub) {
            future.onIOPub?.(message);
          }
          return { content: reply };
        })
      };
      return future;
    }
  };
  return { kernel: kernel as any, requests };
}

const stream = (name: 'stdout' | 'stderr', text: string) => ({
  header: { msg_type: 'stream' } as any,
  content: { name, text }
});

describe('running code in a kernel', () => {
  it('gathers stdout, out of the history, and passes stderr apart', async () => {
    const { kernel, requests } = fakeKernel(
      [
        stream('stdout', 'Loaded alpha '),
        stream('stderr', 'a warning'),
        stream('stdout', 'from snapshot x.\n')
      ],
      { status: 'ok' } as any
    );
    const output = await executeInKernel(kernel, 'code()');
    expect(output).toEqual({
      stdout: 'Loaded alpha from snapshot x.\n',
      stderr: 'a warning'
    });
    expect(requests[0]).toMatchObject({
      code: 'code()',
      silent: false,
      store_history: false,
      allow_stdin: false
    });
  });

  it('rejects with the exception of an error reply', async () => {
    const { kernel } = fakeKernel([], {
      status: 'error',
      ename: 'UsageError',
      evalue: 'The project is not set up.',
      traceback: []
    } as any);
    const failure = executeInKernel(kernel, 'x');
    await expect(failure).rejects.toBeInstanceOf(KernelCodeError);
    await expect(failure).rejects.toMatchObject({
      ename: 'UsageError',
      evalue: 'The project is not set up.'
    });
    const aborted = fakeKernel([], { status: 'aborted' } as any);
    await expect(executeInKernel(aborted.kernel, 'x')).rejects.toMatchObject({
      ename: 'Aborted'
    });
  });

  it('knows a Python kernel from its spec or its info', async () => {
    const kernel = (spec: any, info: any) =>
      ({
        spec: Promise.resolve(spec),
        info: Promise.resolve(info)
      }) as any;
    expect(await isPythonKernel(kernel({ language: 'python' }, {}))).toBe(true);
    expect(
      await isPythonKernel(
        kernel(undefined, { language_info: { name: 'python' } })
      )
    ).toBe(true);
    expect(await isPythonKernel(kernel({ language: 'R' }, {}))).toBe(false);
    const never = { spec: new Promise(() => undefined), info: undefined };
    expect(await isPythonKernel(never as any, 10)).toBe(false);
  });
});

describe('the current notebook’s kernel', () => {
  function fakePanel(path: string, kernel: any) {
    return {
      isDisposed: false,
      context: { path, pathChanged: new Signal<any, string>({}) },
      sessionContext: {
        session: kernel ? { kernel } : null,
        kernelChanged: new Signal<any, any>({}),
        statusChanged: new Signal<any, any>({})
      }
    } as any;
  }

  it('is the notebook’s running kernel, with the notebook’s file name', () => {
    const kernel = { id: 'k1', isDisposed: false, status: 'idle' };
    expect(
      currentNotebookKernel(fakePanel('work/analysis.ipynb', kernel))
    ).toEqual({
      name: 'analysis.ipynb',
      path: 'work/analysis.ipynb',
      kernel
    });
    expect(currentNotebookKernel(fakePanel('a.ipynb', null))).toBeNull();
    expect(
      currentNotebookKernel(fakePanel('a.ipynb', { ...kernel, status: 'dead' }))
    ).toBeNull();
    expect(currentNotebookKernel(null)).toBeNull();
  });

  it('tells when the current notebook or its kernel changes', () => {
    const kernel = { id: 'k1', isDisposed: false, status: 'idle' };
    const first = fakePanel('a.ipynb', kernel);
    const tracker = {
      currentWidget: first,
      currentChanged: new Signal<any, any>({})
    };
    const current = new CurrentNotebookKernel(tracker as any);
    let changes = 0;
    current.changed.connect(() => changes++);
    expect(current.current!.name).toBe('a.ipynb');
    // Busy and idle again: the same kernel, nothing to tell.
    first.sessionContext.statusChanged.emit('busy');
    expect(changes).toBe(0);
    kernel.status = 'dead';
    first.sessionContext.statusChanged.emit('dead');
    expect(changes).toBe(1);
    expect(current.current).toBeNull();
    const second = fakePanel('b.ipynb', { ...kernel, status: 'idle' });
    tracker.currentWidget = second;
    tracker.currentChanged.emit(second);
    expect(changes).toBe(2);
    expect(current.current!.name).toBe('b.ipynb');
    // The first one is no longer followed.
    first.sessionContext.kernelChanged.emit(null);
    expect(changes).toBe(2);
    current.dispose();
  });
});
