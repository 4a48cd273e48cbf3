/** The one command-line parser every command uses (src/cli/command-line.ts): what is accepted, what each error says. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireFile, requireFolder } from '../../src/cli/check-paths.ts';
import {
  type CommandSpec,
  commandHelp,
  parseCommandLine,
  programHelp,
  runCommand,
  UsageError,
} from '../../src/cli/command-line.ts';

const spec = {
  name: 'demo',
  summary: 'a demonstration command',
  positionals: [{ name: 'FILE', description: 'the file' }],
  options: {
    input: { type: 'string', value: 'DIR', description: 'where to read', required: true },
    kind: { type: 'string', value: 'K', description: 'which kind', choices: ['a', 'b'] },
    tag: { type: 'string', value: 'T', description: 'a tag', multiple: true },
    list: { type: 'boolean', description: 'list only' },
  },
  environment: ['DATA_DIR  where the data is'],
  examples: ['irecist-adapter demo --input x'],
} as const satisfies CommandSpec;

describe('parseCommandLine', () => {
  it('reads options, repeated options and positionals', () => {
    const parsed = parseCommandLine(spec, ['--input', 'in', '--kind=b', '--tag', 'x', '--tag', 'y', '--list', '-']);
    expect(parsed).toEqual({ values: { input: 'in', kind: 'b', tag: ['x', 'y'], list: true }, positionals: ['-'] });
  });

  it.each<[string, string[], string]>([
    ['an unknown option', ['--input', 'x', '--bogus'], 'unknown option --bogus'],
    ['an unknown short option', ['--input', 'x', '-z'], 'unknown option -z'],
    ['a string option without a value', ['--input'], 'option --input needs a value (DIR)'],
    ['a string option followed by another option', ['--input', '--list'], 'option --input needs a value (DIR)'],
    ['an empty inline value', ['--input='], 'option --input needs a value (DIR)'],
    ['a boolean option with a value', ['--input', 'x', '--list=yes'], 'option --list takes no value'],
    ['a value outside the choices', ['--input', 'x', '--kind', 'c'], 'option --kind must be one of a, b (not c)'],
    ['a single option twice', ['--input', 'x', '--input', 'y'], 'option --input is given twice'],
    ['a missing required option', ['--list'], 'option --input DIR is required'],
    ['one positional too many', ['--input', 'x', 'a', 'b'], 'unexpected argument b'],
  ])('%s: %s', (_name, args, message) => {
    expect(() => parseCommandLine(spec, args)).toThrow(new UsageError(message));
  });

  it('a required positional that is missing is named', () => {
    const withFile = { ...spec, positionals: [{ name: 'FILE', description: 'the file', required: true }] };
    expect(() => parseCommandLine(withFile, ['--input', 'x'])).toThrow(new UsageError('missing FILE'));
  });

  it('after --, everything is a positional', () => {
    expect(parseCommandLine(spec, ['--input', 'x', '--', '--list']).positionals).toEqual(['--list']);
  });
});

describe('help', () => {
  it("a command's help has its usage, arguments, options with notes, environment and examples", () => {
    expect(commandHelp(spec)).toBe(
      [
        'Usage: irecist-adapter demo --input DIR [options] [FILE]',
        '',
        'a demonstration command',
        '',
        'Arguments:',
        '  FILE  the file',
        '',
        'Options:',
        '  --input DIR  where to read (required)',
        '  --kind K     which kind (one of a, b)',
        '  --tag T      a tag',
        '  --list       list only',
        '  -h, --help   show this help',
        '',
        'Environment:',
        '  DATA_DIR  where the data is',
        '',
        'Examples:',
        '  irecist-adapter demo --input x',
        '',
      ].join('\n'),
    );
  });

  it('the program help lists every command with its summary', () => {
    expect(programHelp([spec, { name: 'other', summary: 'another one' }])).toContain(
      'Commands:\n  demo   a demonstration command\n  other  another one\n',
    );
  });
});

describe('runCommand', () => {
  const io = () => {
    const out = { stdout: '', stderr: '' };
    return {
      out,
      io: {
        stdout: (t: string) => {
          out.stdout += t;
        },
        stderr: (t: string) => {
          out.stderr += t;
        },
      },
    };
  };

  it('--help prints the help on stdout and exits 0 without running the command', async () => {
    const { out, io: cli } = io();
    let ran = false;
    const code = await runCommand(spec, ['--bogus', '--help'], cli, async () => {
      ran = true;
      return 0;
    });
    expect([code, ran, out.stderr]).toEqual([0, false, '']);
    expect(out.stdout).toBe(commandHelp(spec));
  });

  it('a usage error: one line saying what is wrong, the usage, exit 2, nothing on stdout', async () => {
    const { out, io: cli } = io();
    const code = await runCommand(spec, ['--bogus'], cli, async () => 0);
    expect(code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(
      "error: unknown option --bogus\nUsage: irecist-adapter demo --input DIR [options] [FILE]\nRun 'irecist-adapter demo --help' for more.\n",
    );
  });

  it('a UsageError thrown by the command itself is reported the same way', async () => {
    const { out, io: cli } = io();
    const code = await runCommand(spec, ['--input', '../x'], cli, async ({ values }) => {
      await requireFolder(values.input as string, 'input folder');
      return 0;
    });
    expect(code).toBe(2);
    expect(out.stderr.split('\n')[0]).toBe('error: input folder ../x does not exist');
  });
});

describe('path checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-paths-'));
  const file = join(dir, 'a.json');
  writeFileSync(file, '{}');

  it.each<[string, () => Promise<void>, string | undefined]>([
    ['an existing folder', () => requireFolder(dir, 'input folder'), undefined],
    [
      'a missing folder',
      () => requireFolder(join(dir, 'nope'), 'input folder'),
      `input folder ${dir}/nope does not exist`,
    ],
    ['a file given as a folder', () => requireFolder(file, 'input folder'), `input folder ${file} is not a folder`],
    ['an existing file', () => requireFile(file, 'input file'), undefined],
    ['a missing file', () => requireFile(join(dir, 'b.json'), 'input file'), `input file ${dir}/b.json does not exist`],
    ['a folder given as a file', () => requireFile(dir, 'input file'), `input file ${dir} is a folder, not a file`],
  ])('%s', async (_name, check, message) => {
    if (message === undefined) await expect(check()).resolves.toBeUndefined();
    else await expect(check()).rejects.toThrow(new UsageError(message));
  });
});
