import { KernelMessage } from '@jupyterlab/services';

import {
  candidatesCode,
  defaultModel,
  exampleExpression,
  IPublishProgress,
  loadCandidates,
  parseCandidates,
  parsePublication,
  PhaseReader,
  phaseStep,
  publishCode,
  PublishError,
  publishInKernel,
  publishMagicLine,
  shapeText
} from '../endpoints/kernel';
import { makeEndpoint, makeVersion } from './fakeEndpointsClient';

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

const CANDIDATES = {
  models: [
    {
      name: 'scaler',
      type: 'StandardScaler',
      flavor: 'sklearn',
      in_cell: false
    },
    {
      name: 'clf',
      type: 'LogisticRegression',
      flavor: 'sklearn',
      in_cell: true
    }
  ],
  examples: [
    { name: 'X', type: 'DataFrame', shape: [150, 4] },
    { name: 'y', type: 'Series', shape: [150] }
  ]
};

describe('the candidates of a cell', () => {
  it('asks the kernel with the cell’s source as a Python string', () => {
    const code = candidatesCode('clf = fit("a\\nb")\nprint(\'x\')');
    expect(code).toBe(
      'import jupyter_dataops.publishing as _dp; ' +
        '_dp.print_candidates(get_ipython().user_ns, "clf = fit(\\"a\\\\nb\\")\\nprint(\'x\')")'
    );
  });

  it('reads the JSON line, whatever was printed before it', () => {
    const stdout = `some warning\n${JSON.stringify(CANDIDATES)}\n`;
    const candidates = parseCandidates(stdout);
    expect(candidates.models.map(model => model.name)).toEqual([
      'scaler',
      'clf'
    ]);
    expect(candidates.examples[0]).toEqual({
      name: 'X',
      type: 'DataFrame',
      shape: [150, 4]
    });
    // The cell's own model first.
    expect(defaultModel(candidates.models)!.name).toBe('clf');
    expect(shapeText(candidates.examples[0].shape)).toBe('150 × 4');
  });

  it('fills what is missing and drops what has no name', () => {
    const candidates = parseCandidates(
      JSON.stringify({
        models: [{ name: 'm' }, { type: 'nameless' }, 'junk'],
        examples: [{ name: 'X', shape: 'weird' }]
      })
    );
    expect(candidates).toEqual({
      models: [{ name: 'm', type: '', flavor: '', in_cell: false }],
      examples: [{ name: 'X', type: '', shape: null }]
    });
    // The shape as the kernel writes it, too.
    expect(
      parseCandidates(
        JSON.stringify({
          models: [],
          examples: [
            { name: 'X', type: 'DataFrame', shape: '150x4' },
            { name: 'y', type: 'Series', shape: '150' }
          ]
        })
      ).examples.map(example => example.shape)
    ).toEqual([[150, 4], [150]]);
    expect(parseCandidates('{"models": []}')).toEqual({
      models: [],
      examples: []
    });
    expect(defaultModel([])).toBeNull();
  });

  it('says what the kernel printed when it is not candidates', () => {
    expect(() => parseCandidates('')).toThrow('The kernel printed nothing.');
    expect(() => parseCandidates('{"other": 1}\nhello')).toThrow(
      /did not list candidates/
    );
  });

  it('runs out of the notebook’s history', async () => {
    const { kernel, requests } = fakeKernel(
      [stream('stdout', JSON.stringify(CANDIDATES) + '\n')],
      { status: 'ok' } as any
    );
    const candidates = await loadCandidates(kernel, 'clf = 1');
    expect(candidates.models).toHaveLength(2);
    expect(requests[0]).toMatchObject({
      store_history: false,
      allow_stdin: false
    });
  });
});

describe('the publish line', () => {
  it('quotes every word for shlex', () => {
    expect(
      publishMagicLine({
        variable: 'clf',
        name: 'iris',
        example: exampleExpression('X', ' [:5] '),
        alias: 'production',
        canary: null
      })
    ).toBe(
      "publish clf --name iris --example 'X[:5]' --alias production --json"
    );
    expect(
      publishMagicLine({
        variable: 'model',
        name: 'churn-v2',
        example: "df.drop(columns=['y']).head()",
        alias: '',
        canary: 10.4
      })
    ).toBe(
      "publish model --name churn-v2 --example 'df.drop(columns=['\"'\"'y'\"'\"']).head()' --canary 10 --json"
    );
    expect(
      publishMagicLine({
        variable: 'm',
        name: 'm',
        example: null,
        alias: 'staging',
        canary: null
      })
    ).toBe('publish m --name m --alias staging --json');
  });

  it('sends --host only when the choice has one', () => {
    const choice = {
      variable: 'clf',
      name: 'iris',
      example: null,
      alias: '',
      canary: null
    };
    expect(publishMagicLine({ ...choice, host: '0.0.0.0' })).toBe(
      'publish clf --name iris --host 0.0.0.0 --json'
    );
    expect(publishMagicLine({ ...choice, host: null })).toBe(
      'publish clf --name iris --json'
    );
    expect(publishMagicLine({ ...choice, host: ' ' })).toBe(
      'publish clf --name iris --json'
    );
  });

  it('runs the magic with the extension loaded', () => {
    expect(
      publishCode({
        variable: 'clf',
        name: 'iris',
        example: null,
        alias: '',
        canary: null
      })
    ).toBe(
      'get_ipython().extension_manager.load_extension("jupyter_dataops"); ' +
        'get_ipython().run_line_magic("dataops", "publish clf --name iris --json");'
    );
  });
});

describe('the phases of publishing', () => {
  it('knows the four steps by their first word', () => {
    expect(phaseStep('logging the model to MLflow')).toBe(1);
    expect(phaseStep('registering version 3 of churn')).toBe(2);
    expect(phaseStep('starting the endpoint')).toBe(3);
    expect(phaseStep('waiting for the first answer')).toBe(4);
    expect(phaseStep('inferring the signature')).toBeNull();
  });

  it('reads stderr as it comes, lines split across chunks', () => {
    const reader = new PhaseReader();
    expect(reader.feed('dataops: logging the mo')).toBe(false);
    expect(reader.progress.step).toBe(0);
    expect(
      reader.feed('del to MLflow\ndataops: registering version 3 of ')
    ).toBe(true);
    expect(reader.progress).toMatchObject({
      phase: 'logging the model to MLflow',
      step: 1
    });
    reader.feed('churn\n');
    expect(reader.progress).toMatchObject({
      phase: 'registering version 3 of churn',
      step: 2
    });
    // A phase the UI does not know keeps the step; other lines are logged.
    reader.feed('UserWarning: something\r\ndataops: inferring things\n');
    expect(reader.progress).toMatchObject({
      phase: 'inferring things',
      step: 2,
      log: ['UserWarning: something']
    });
    reader.feed('dataops: waiting for the first answer');
    expect(reader.progress.step).toBe(2);
    expect(reader.end()).toBe(true);
    expect(reader.progress.step).toBe(4);
  });

  it('keeps the magic’s error', () => {
    const reader = new PhaseReader();
    reader.feed('dataops: starting the endpoint\n');
    reader.feed('dataops: error: port 5001 is taken (by pid 77)\n');
    expect(reader.progress).toMatchObject({
      step: 3,
      error: 'port 5001 is taken (by pid 77)'
    });
  });

  it('reads the publication the magic printed last, on one line or indented', () => {
    const publication = {
      endpoint: makeEndpoint(),
      version: makeVersion(),
      seconds: 4.2,
      published: true,
      reason: null
    };
    expect(
      parsePublication(`noise\n{"not": "it"}\n${JSON.stringify(publication)}\n`)
    ).toEqual(publication);
    expect(
      parsePublication(
        `{ "warning": 1 }\n${JSON.stringify(publication, null, 2)}\n`
      )
    ).toEqual(publication);
    expect(() => parsePublication('{\n  "endpoint": ')).toThrow(
      'did not print a publication'
    );
    expect(() => parsePublication('')).toThrow('no publication');
  });
});

describe('publishing in a kernel', () => {
  const publication = {
    endpoint: makeEndpoint(),
    version: makeVersion(),
    seconds: 4.2,
    published: true,
    reason: null
  };

  it('tells each phase, then answers the publication', async () => {
    const { kernel, requests } = fakeKernel(
      [
        stream('stderr', 'dataops: logging the model to MLflow\n'),
        stream('stderr', 'dataops: registering version 3 of iris\n'),
        stream('stderr', 'dataops: starting the endpoint\n'),
        stream('stderr', 'dataops: waiting for the first answer\n'),
        stream('stdout', JSON.stringify(publication, null, 2) + '\n')
      ],
      { status: 'ok' } as any
    );
    const seen: IPublishProgress[] = [];
    const result = await publishInKernel(
      kernel,
      {
        variable: 'clf',
        name: 'iris',
        example: 'X[:5]',
        alias: '',
        canary: null
      },
      progress => seen.push(progress)
    );
    expect(result).toEqual(publication);
    expect(seen.map(progress => progress.step)).toEqual([1, 2, 3, 4]);
    expect(requests[0].code).toContain('publish clf --name iris');
  });

  it('fails with the magic’s error line', async () => {
    const { kernel } = fakeKernel(
      [
        stream('stderr', 'dataops: logging the model to MLflow\n'),
        stream('stderr', 'some traceback line\n'),
        stream(
          'stderr',
          'dataops: error: MLflow refused the model: no flavor\n'
        )
      ],
      { status: 'ok' } as any
    );
    const failure = publishInKernel(
      kernel,
      { variable: 'clf', name: 'iris', example: null, alias: '', canary: null },
      () => undefined
    );
    await expect(failure).rejects.toBeInstanceOf(PublishError);
    await expect(failure).rejects.toMatchObject({
      message: 'MLflow refused the model: no flavor',
      log: ['some traceback line']
    });
  });

  it('says so when the kernel cannot import jupyter-dataops', async () => {
    const { kernel } = fakeKernel([], {
      status: 'error',
      ename: 'ModuleNotFoundError',
      evalue: "No module named 'jupyter_dataops'",
      traceback: []
    } as any);
    await expect(
      publishInKernel(
        kernel,
        {
          variable: 'clf',
          name: 'iris',
          example: null,
          alias: '',
          canary: null
        },
        () => undefined
      )
    ).rejects.toThrow(/not installed in this kernel/);
  });
});
