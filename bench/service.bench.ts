/**
 * Service benchmark (`npm run bench:service`): the whole service (startService) against its embedded sandbox FHIR
 * server, everything on 127.0.0.1, in one run that stops by itself (hard limit BENCH_DEADLINE_S, default 170 s).
 *
 *   1. bare minimum: for clones of the benchmark's patients (same data, the adapter's Subscriptions switched off),
 *      the batch read (readPatientContext) + the transaction write (writeResults) of a precomputed transaction
 *      (assessResources), done directly against the sandbox with the adapter's own FHIR client;
 *   2. notification-to-Flag, single notification: the same kind of patients loaded with the Subscriptions still off,
 *      then ONE signed Medplum-style notification each; time until the Flag reaches a loopback receiver that is
 *      subscribed to Flag in the sandbox;
 *   3. notification-to-Flag, as it happens: BENCH_PATIENTS patients (hyperprogression / confirmed-progression
 *      transactions, ids rewritten to be unique), one at a time: POST the transaction, the sandbox notifies the
 *      adapter once per matching resource (Medplum style), wait for the Flag at the receiver. FHIR round trips per
 *      assessment are counted here (options.fetch wrapper; GET metadata excluded);
 *   4. coalescing: 100 notifications for ONE patient spread over one second, then 100 at once;
 *   5. intake: BENCH_INTAKE_COUNT signed notifications for as many patients, BENCH_INTAKE_CONCURRENCY in flight, from
 *      a child process (bench/intake-load.ts); then how fast the worker drains the backlog once the load stops.
 *
 * Each patient's stages are timestamped without touching src/: notification deliveries through a wrapper of the
 * global fetch the sandbox notifier uses, the durable enqueue by wrapping service.queue.enqueue, FHIR requests
 * through options.fetch, the Flag's commit through the sandbox repository's commit hook. Database statements are
 * counted at the driver (PGlite query/exec, node-postgres Client.query).
 *
 *   npm run bench:service                            PGlite in a temporary directory
 *   BENCH_DATABASE=postgres npm run bench:service    BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 *                                                    in a schema of its own that is dropped at the end
 * Knobs: BENCH_PATIENTS (50), BENCH_INTAKE_COUNT (5000), BENCH_INTAKE_CONCURRENCY (32), BENCH_POLL_SECONDS (queue
 * pollingIntervalSeconds; default: the service's default), QUEUE_CONCURRENCY (the service's), BENCH_DEBUG=1 (SQL mix),
 * BENCH_FHIR_DELAY_MS (added before every FHIR request of the adapter and of the bare minimum alike: a server farther
 * away than an in-memory one on loopback).
 * Prints a Markdown report and writes it to bench/results/service.md (service-postgres.md for PostgreSQL).
 * Parts: bench/service-bench/ (settings, instrumentation, harness, phases, report).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installDeadline, onAbort, writeResultJson } from './run-control.ts';
import { casesFor } from './sample-cases.ts';
import { startHarness } from './service-bench/harness.ts';
import { counters } from './service-bench/instrumentation.ts';
import { bareMinimum, coalesce, intakeRun, latencyRun } from './service-bench/phases.ts';
import { serviceBenchReport } from './service-bench/report.ts';
import {
  COALESCE_COUNT,
  DATABASE,
  DEADLINE_S,
  DEBUG,
  PATIENTS,
  QUEUE_OPTIONS,
  say,
  WARMUP_PATIENTS,
} from './service-bench/settings.ts';

// A hard stop, whatever happens below (and on Ctrl-C or SIGTERM): drop what the run created, then exit.
let cleanup: () => Promise<void> = async () => undefined;
installDeadline(DEADLINE_S);
onAbort(() => cleanup());

say(`starting the service on ${DATABASE}`);
const h = await startHarness((c) => {
  cleanup = c;
});

say(`bare minimum: ${WARMUP_PATIENTS} warm-up + ${PATIENTS} patients, read + write directly against the sandbox`);
if ((await h.adapterSubscriptions('off')) === 0) throw new Error('no adapter Subscription found in the sandbox');
const bare = await bareMinimum(h);
await h.subscribeFlagReceiver();

say(`notification-to-Flag, one notification each: ${WARMUP_PATIENTS} warm-up + ${PATIENTS} patients`);
await latencyRun(h, casesFor(WARMUP_PATIENTS, 'sw'), 'single');
const single = await latencyRun(h, casesFor(PATIENTS, 's'), 'single');
await h.waitForQuiet(10_000);
const singleAssessments = single.patientIds.reduce((n, id) => n + (counters.readsPerPatient.get(id) ?? 0), 0);
await h.adapterSubscriptions('active');

say(`notification-to-Flag, transaction notified by the sandbox: ${WARMUP_PATIENTS} warm-up + ${PATIENTS} patients`);
await latencyRun(h, casesFor(WARMUP_PATIENTS, 'w'), 'sandbox');
await h.waitForQuiet(10_000);
counters.requestKinds.clear();
counters.sqlKinds.clear();
const sqlBefore = counters.sqlStatements;
const assessmentsBefore = await h.assessmentsDone();
const notificationsBefore = counters.notificationsDelivered;
const fanout = await latencyRun(h, casesFor(PATIENTS, 'p'), 'sandbox');
const quietAfterFanout = await h.waitForQuiet(15_000);
const assessments = (await h.assessmentsDone()) - assessmentsBefore;
const notificationsPerPatient = (counters.notificationsDelivered - notificationsBefore) / PATIENTS;
const sqlPerPatient = (counters.sqlStatements - sqlBefore) / PATIENTS;
const roundTrips = [...counters.requestKinds].filter(([kind]) => kind !== 'GET metadata').sort((a, b) => b[1] - a[1]);
if (DEBUG) {
  const top = [...counters.sqlKinds].sort((a, b) => b[1] - a[1]).slice(0, 10);
  say(`SQL per patient:\n${top.map(([k, n]) => `  ${(n / PATIENTS).toFixed(1)}  ${k}`).join('\n')}`);
}

say(`coalescing: ${COALESCE_COUNT} notifications for one patient, over 1 s and at once`);
const spread = await coalesce(h, fanout.patientIds[0] as string, 1000);
const burst = await coalesce(h, fanout.patientIds[1] as string, 0);

const intake = await intakeRun(h);

say('stopping the service');
await h.close();

const { text, json } = serviceBenchReport({
  config: h.config,
  queueOptions: QUEUE_OPTIONS,
  bare,
  single,
  singleAssessments,
  fanout,
  quietAfterFanout,
  assessments,
  notificationsPerPatient,
  sqlPerPatient,
  roundTrips,
  spread,
  burst,
  intake,
});
console.log(text);
await writeResultJson(json);
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const file = DATABASE === 'postgres' ? 'service-postgres.md' : 'service.md';
writeFileSync(join(dir, file), text);
say(`written to bench/results/${file}`);
process.exit(0);
