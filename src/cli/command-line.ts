/**
 * The one command-line parser and help writer every command uses (`irecist-adapter <command> ...`). A command
 * describes itself once (a CommandSpec: summary, positionals, options, examples, environment); from that come its
 * `--help` text, the program's command list, and the parse with errors that say what is wrong ("unknown option
 * --bogus", "option --input needs a value (DIR)") instead of a stack trace or "Internal error".
 *
 *   const spec = { name: 'backfill', summary: '...', options: { input: { type: 'string', value: 'DIR', ... } } };
 *   export const runBackfill = (args, io) => runCommand(spec, args, io, async ({ values, positionals }) => ...);
 *
 * Help goes to stdout (exit 0); a usage error to stderr as one line plus where to find the usage (exit 2).
 */
import { parseArgs } from 'node:util';

/** Where a command writes: its result on stdout, everything for a person on stderr. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Standard input, for commands that read `-` (default: the process's). */
  stdin?: NodeJS.ReadableStream;
}

export const PROGRAM = 'irecist-adapter';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** What the value is, as the help shows it (`DIR`, `FILE`, `ID`); string options only. */
  readonly value?: string;
  readonly description: string;
  /** Refused when missing ("option --input is required"). */
  readonly required?: boolean;
  /** Allowed values; anything else is refused naming them. */
  readonly choices?: readonly string[];
  /** May be given several times (string options only): the values come as an array. */
  readonly multiple?: boolean;
}

export interface PositionalSpec {
  /** As the usage line shows it (`FILE`). */
  readonly name: string;
  readonly description: string;
  readonly required?: boolean;
}

export interface CommandSpec {
  readonly name: string;
  /** One line, for the program's command list. */
  readonly summary: string;
  /** More, for the command's own help (plain lines). */
  readonly description?: string;
  readonly positionals?: readonly PositionalSpec[];
  readonly options?: Readonly<Record<string, OptionSpec>>;
  /** Environment variables the command reads, each `NAME  what it does`. */
  readonly environment?: readonly string[];
  readonly examples?: readonly string[];
}

type OptionValue<O extends OptionSpec> = O['type'] extends 'boolean'
  ? boolean
  : O['multiple'] extends true
    ? string[]
    : O extends { readonly choices: readonly (infer C extends string)[] }
      ? C
      : string;

/** The parsed option values of a spec: every option may be absent. */
export type OptionValues<S extends CommandSpec> = {
  [K in keyof NonNullable<S['options']>]?: OptionValue<NonNullable<S['options']>[K]>;
};

export interface ParsedCommandLine<S extends CommandSpec> {
  values: OptionValues<S>;
  positionals: string[];
}

/** A command: its spec (help and parsing) and how it runs on its arguments; resolves to the exit code. */
export interface Command {
  readonly spec: CommandSpec;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** A command line that cannot run as given; the message is one line that says what is wrong. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const HELP_FLAGS = new Set(['--help', '-h']);

/** Whether the arguments ask for help (anywhere before a `--`). */
export function asksForHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (HELP_FLAGS.has(arg)) return true;
  }
  return false;
}

function optionLabel(name: string, spec: OptionSpec): string {
  return spec.type === 'string' ? `--${name} ${spec.value ?? 'VALUE'}` : `--${name}`;
}

/** The usage line: `irecist-adapter NAME [options] POSITIONALS`, required options spelled out. */
function usageLine(spec: CommandSpec): string {
  const options = Object.entries(spec.options ?? {});
  const required = options.filter(([, o]) => o.required).map(([n, o]) => optionLabel(n, o));
  const optional = options.some(([, o]) => !o.required) ? ['[options]'] : [];
  const positionals = (spec.positionals ?? []).map((p) => (p.required ? p.name : `[${p.name}]`));
  return [PROGRAM, spec.name, ...required, ...optional, ...positionals].join(' ');
}

/** Two-column lines, the first column padded to the widest. */
function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/**
 * The `--help` text of one command.
 * @param spec - The command.
 * @returns Its usage, description, arguments, options, environment and examples.
 */
export function commandHelp(spec: CommandSpec): string {
  const lines = [`Usage: ${usageLine(spec)}`, '', spec.summary];
  if (spec.description) lines.push('', ...spec.description.split('\n'));
  if (spec.positionals?.length) {
    lines.push('', 'Arguments:', ...columns(spec.positionals.map((p) => [p.name, p.description])));
  }
  const options = Object.entries(spec.options ?? {}).map(([name, o]): [string, string] => {
    const notes = [o.required ? 'required' : '', o.choices ? `one of ${o.choices.join(', ')}` : '']
      .filter(Boolean)
      .join('; ');
    return [optionLabel(name, o), notes ? `${o.description} (${notes})` : o.description];
  });
  lines.push('', 'Options:', ...columns([...options, ['-h, --help', 'show this help']]));
  if (spec.environment?.length) lines.push('', 'Environment:', ...spec.environment.map((e) => `  ${e}`));
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

/**
 * The program's help: every command with its summary.
 * @param commands - The commands, in the order to list them.
 * @returns The text `irecist-adapter --help` prints.
 */
export function programHelp(commands: readonly CommandSpec[]): string {
  return [
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Commands:',
    ...columns(commands.map((c) => [c.name, c.summary])),
    '',
    `Run '${PROGRAM} <command> --help' for a command's arguments and options.`,
    '',
  ].join('\n');
}

/**
 * Parses a command's arguments against its spec.
 * @param spec - The command.
 * @param args - The arguments after the command's name.
 * @returns The option values and positionals.
 * @throws UsageError for an unknown option, a missing or unwanted value, a value outside the choices, a missing
 *   required option or positional, or one positional too many.
 */
export function parseCommandLine<S extends CommandSpec>(spec: S, args: readonly string[]): ParsedCommandLine<S> {
  const declared = spec.options ?? {};
  const { tokens } = parseArgs({
    args: [...args],
    strict: false,
    allowPositionals: true,
    tokens: true,
    options: Object.fromEntries(Object.entries(declared).map(([name, o]) => [name, { type: o.type }])),
  });
  const values: Record<string, string | boolean | string[]> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const option = Object.hasOwn(declared, token.name) ? declared[token.name] : undefined;
    if (!option || token.rawName !== `--${token.name}`) throw new UsageError(`unknown option ${token.rawName}`);
    if (option.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`option --${token.name} takes no value`);
      values[token.name] = true;
      continue;
    }
    const value = token.value;
    // `--input --output x` would otherwise read "--output" as the input folder.
    if (value === undefined || value === '' || (!token.inlineValue && value.startsWith('--'))) {
      throw new UsageError(`option --${token.name} needs a value (${option.value ?? 'VALUE'})`);
    }
    if (option.choices && !option.choices.includes(value)) {
      throw new UsageError(`option --${token.name} must be one of ${option.choices.join(', ')} (not ${value})`);
    }
    if (option.multiple) values[token.name] = [...((values[token.name] as string[] | undefined) ?? []), value];
    else if (values[token.name] !== undefined) throw new UsageError(`option --${token.name} is given twice`);
    else values[token.name] = value;
  }
  for (const [name, option] of Object.entries(declared)) {
    if (option.required && values[name] === undefined) {
      throw new UsageError(`option ${optionLabel(name, option)} is required`);
    }
  }
  const wanted = spec.positionals ?? [];
  const missing = wanted.slice(positionals.length).find((p) => p.required);
  if (missing) throw new UsageError(`missing ${missing.name}`);
  const extra = positionals[wanted.length];
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
  return { values: values as OptionValues<S>, positionals };
}

/**
 * Runs a command: `--help` prints its help (exit 0); a usage error prints one line and where to find the usage
 * (exit 2); otherwise `run` gets the parsed command line and its exit code is the command's.
 * @param spec - The command.
 * @param args - The arguments after the command's name.
 * @param io - Where to write.
 * @param run - The command itself.
 * @param onUsageError - Also told of a usage error (e.g. `assess` writes an OperationOutcome on stdout for it).
 * @returns The exit code.
 */
export async function runCommand<S extends CommandSpec>(
  spec: S,
  args: readonly string[],
  io: CliIo,
  run: (parsed: ParsedCommandLine<S>) => Promise<number>,
  onUsageError?: (message: string) => void,
): Promise<number> {
  const fail = (message: string): number => {
    onUsageError?.(message);
    return usageFailure(spec, io, message);
  };
  if (asksForHelp(args)) {
    io.stdout(commandHelp(spec));
    return 0;
  }
  let parsed: ParsedCommandLine<S>;
  try {
    parsed = parseCommandLine(spec, args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return fail(err.message);
  }
  try {
    return await run(parsed);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return fail(err.message);
  }
}

/** One line saying what is wrong, one saying where the usage is; exit code 2. */
export function usageFailure(spec: CommandSpec, io: CliIo, message: string): number {
  io.stderr(`error: ${message}\nUsage: ${usageLine(spec)}\nRun '${PROGRAM} ${spec.name} --help' for more.\n`);
  return 2;
}
