/** The irecist-adapter command line (contract section 3): one table of commands, each with its own `--help`. */
import { assessCommand } from './assess.ts';
import { backfillCommand } from './backfill.ts';
import { asksForHelp, type CliIo, type Command, programHelp } from './command-line.ts';
import { replayCommand } from './replay.ts';
import { serveCommand } from './serve.ts';
import { subscribeCommand } from './subscribe.ts';

const COMMANDS: readonly Command[] = [assessCommand, serveCommand, subscribeCommand, backfillCommand, replayCommand];

const io: CliIo = {
  stdout: (t: string) => process.stdout.write(t),
  stderr: (t: string) => process.stderr.write(t),
  stdin: process.stdin,
};

/**
 * Runs one command line.
 * @param argv - The arguments after the program's name.
 * @returns The exit code: `--help` 0, no or an unknown command 2, else the command's.
 */
async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  const help = programHelp(COMMANDS.map((c) => c.spec));
  if (name === 'help' && args[0] !== undefined) return main([args[0], '--help']);
  if (name === 'help' || (name !== undefined && asksForHelp([name]))) {
    io.stdout(help);
    return 0;
  }
  const command = COMMANDS.find((c) => c.spec.name === name);
  if (command) return command.run(args, io);
  io.stderr(`${name === undefined ? 'error: no command given' : `error: unknown command ${name}`}\n${help}`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
