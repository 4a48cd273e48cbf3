/** The irecist-adapter command line (contract section 3). */
import { runAssess } from './assess.ts';
import { runBackfill } from './backfill.ts';
import { runReplay } from './replay.ts';
import { runServe } from './serve.ts';
import { runSubscribe } from './subscribe.ts';

const USAGE = `Usage: irecist-adapter <command>
  assess FILE                      assess a Bundle of one patient; the transaction Bundle on stdout
  serve                            run the service (npm start)
  subscribe                        create or update the adapter's Subscriptions on the FHIR server
  backfill --input DIR --output DIR  assess a Bulk Data export (NDJSON)
  replay [--kind K] [--patient ID] [--list]  list or re-queue dead-lettered jobs
`;

const io = {
  stdout: (t: string) => process.stdout.write(t),
  stderr: (t: string) => process.stderr.write(t),
};

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'assess':
      return runAssess(args, io);
    case 'serve':
      return runServe(io);
    case 'subscribe':
      return runSubscribe(io);
    case 'backfill':
      return runBackfill(args, io);
    case 'replay':
      return runReplay(args, io);
    default:
      io.stderr(USAGE);
      return command === undefined || command === '--help' ? 0 : 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
