/** The service benchmark's Markdown report and its JSON result (bench:all reads the JSON). */
import { cpus } from 'node:os';
import type { Config } from '../../src/config.ts';
import type { JobQueueOptions } from '../../src/queue/job-queue.ts';
import { markdownTable, ms, p50p99, percentile } from '../stats.ts';
import { type Stages, stages } from './instrumentation.ts';
import type { BareMinimum, Coalesced, IntakeRun, IntervalHistogram, LatencyRun } from './phases.ts';
import {
  COALESCE_COUNT,
  DATABASE,
  FHIR_DELAY_MS,
  INTAKE_CONCURRENCY,
  INTAKE_COUNT,
  INTAKE_WARMUP,
  LOAD_AT_START,
  LOOP_RESOLUTION_MS,
  PATIENTS,
} from './settings.ts';

export interface ServiceBenchResults {
  config: Config;
  queueOptions: JobQueueOptions;
  bare: BareMinimum;
  single: LatencyRun;
  singleAssessments: number;
  fanout: LatencyRun;
  quietAfterFanout: boolean;
  assessments: number;
  notificationsPerPatient: number;
  sqlPerPatient: number;
  /** FHIR requests of the transaction run by kind, metadata reads left out, most first. */
  roundTrips: [string, number][];
  spread: Coalesced;
  burst: Coalesced;
  intake: IntakeRun;
}

type StageSpan = (from: keyof Stages, to: keyof Stages) => number[];

/** Per-patient durations between two stages of one run (NaN where a stage is missing). */
function stageValues(run: LatencyRun): StageSpan {
  const rows = run.patientIds.map((id) => stages.get(id) ?? {});
  return (from, to) =>
    rows.map((s) => {
      const a = s[from];
      const b = s[to];
      return a !== undefined && b !== undefined ? b - a : Number.NaN;
    });
}

const STAGES: [label: string, from: keyof Stages, to: keyof Stages, inSingle: boolean][] = [
  ['sandbox: transaction POSTed -> first notification sent', 'posted', 'notifySent', false],
  ['intake: notification sent -> enqueue starts (HTTP, HMAC, parse)', 'notifySent', 'enqueueStart', true],
  ['intake: enqueue (pg-boss insert committed)', 'enqueueStart', 'enqueued', true],
  ['queue: job committed -> worker sends the batch read', 'enqueued', 'readStart', true],
  ['batch read (request -> response headers)', 'readStart', 'readEnd', true],
  ['read body + assess + render (-> write sent)', 'readEnd', 'writeStart', true],
  ['transaction write sent -> Flag committed in the sandbox', 'writeStart', 'flagCommitted', true],
  ['Flag committed -> at the loopback receiver', 'flagCommitted', 'flagReceived', true],
  ['(in parallel) first notification sent -> acknowledged', 'notifySent', 'notifyAcked', true],
  ['(in parallel) first notification sent -> last one acknowledged', 'notifySent', 'lastNotifyAcked', false],
];

const verdict = (ok: boolean): string => (ok ? 'yes' : '**no**');
const count = (n: number): string => n.toLocaleString('en-US');
const pair = (values: number[]): [number, number] => [percentile(values, 50), percentile(values, 99)];

/** monitorEventLoopDelay records whole timer intervals: the delay is what exceeds its resolution. */
function loopDelay(h: IntervalHistogram): string {
  const late = (ns: number): string => ms(Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS));
  return `p50 ${late(h.percentile(50))}, p99 ${late(h.percentile(99))}, max ${late(h.max)} ms`;
}

function mainRows(r: ServiceBenchResults, fan: StageSpan, one: StageSpan): string[][] {
  const { intake, bare, spread, burst } = r;
  const load = intake.load;
  const fanToFlag = fan('notifySent', 'flagReceived');
  const oneToFlag = one('notifySent', 'flagReceived');
  const bareP50 = percentile(bare.total, 50);
  const bareP99 = percentile(bare.total, 99);
  const ratio = (values: number[], toCommit: number[]): string =>
    `${(percentile(values, 50) / bareP50).toFixed(1)}x (p99 ${(percentile(values, 99) / bareP99).toFixed(1)}x; ` +
    `to the Flag's commit ${(percentile(toCommit, 50) / bareP50).toFixed(1)}x)`;
  const fhirRequests = r.roundTrips.reduce((sum, [, n]) => sum + n, 0);
  const perAssessment = fhirRequests / Math.max(1, r.assessments);
  return [
    [
      `Intake: notifications accepted per second (${count(INTAKE_COUNT)} signed Medplum-style Observation POSTs for ${count(INTAKE_COUNT)} patients, ${INTAKE_CONCURRENCY} in flight, after ${INTAKE_WARMUP} warm-up)`,
      `**${load.perSecond.toFixed(0)}/s**${load.errors ? ` (${load.errors} not 2xx: ${JSON.stringify(load.statuses)})` : ''}`,
      'none set',
      '',
    ],
    [
      'Intake: acknowledgement latency p50 / p99, client-measured',
      `${ms(load.p50Ms)} / ${ms(load.p99Ms)} ms`,
      'none set',
      '',
    ],
    [
      `Worker: assessments per second draining that backlog once the load stopped (unknown patients: 1 batch read each)`,
      `${intake.drainPerSecond.toFixed(1)}/s`,
      'none set (>= intake rate to keep up)',
      '',
    ],
    [
      `Notification-to-Flag p50 / p99: transaction POSTed, the sandbox notifies per resource (${r.notificationsPerPatient.toFixed(1)} notifications per patient); first notification sent -> Flag at a loopback Subscription; ${PATIENTS} patients one at a time`,
      `**${p50p99(fanToFlag)} ms**${r.fanout.failed ? ` (${r.fanout.failed} Flags missing)` : ''}`,
      '',
      '',
    ],
    [
      'Same, counted from the transaction POST (includes writing the patient data)',
      `${p50p99(fan('posted', 'flagReceived'))} ms`,
      '',
      '',
    ],
    [
      `Notification-to-Flag p50 / p99 for a single notification (data loaded with the adapter's Subscriptions off, then one signed notification; ${PATIENTS} patients)`,
      `${p50p99(oneToFlag)} ms${r.single.failed ? ` (${r.single.failed} Flags missing)` : ''}`,
      '',
      '',
    ],
    [
      `Bare minimum p50 / p99: batch read + transaction write of a precomputed transaction, same data, same sandbox, same client (${PATIENTS} patients)`,
      `**${p50p99(bare.total)} ms** (read ${p50p99(bare.read)}, write ${p50p99(bare.write)})`,
      '',
      '',
    ],
    [
      'Notification-to-Flag / bare minimum, transaction as notified by the sandbox',
      `**${ratio(fanToFlag, fan('notifySent', 'flagCommitted'))}**`,
      '<= 1.5x',
      verdict(percentile(fanToFlag, 50) <= 1.5 * bareP50),
    ],
    [
      'Notification-to-Flag / bare minimum, single notification',
      ratio(oneToFlag, one('notifySent', 'flagCommitted')),
      '<= 1.5x',
      verdict(percentile(oneToFlag, 50) <= 1.5 * bareP50),
    ],
    [
      `FHIR round trips per assessment (transaction run: ${fhirRequests} requests, ${r.roundTrips.map(([k, n]) => `${k} ${n}`).join(', ')}; ${r.assessments} assessments)`,
      `**${perAssessment.toFixed(2)}**`,
      '2',
      verdict(perAssessment <= 2.005),
    ],
    [
      'Assessments per patient: transaction as notified by the sandbox / single notification',
      `${(r.assessments / PATIENTS).toFixed(2)} / ${(r.singleAssessments / PATIENTS).toFixed(2)} (round trips per transaction ${(fhirRequests / PATIENTS).toFixed(1)})`,
      '1 (one per change)',
      verdict(r.assessments / PATIENTS <= 1.005),
    ],
    [
      `Coalescing: ${COALESCE_COUNT} notifications for one patient spread evenly over ${(spread.sentMs / 1000).toFixed(2)} s -> assessments (writes)`,
      `**${spread.assessments}** (${spread.writes})${spread.quiet ? '' : ', queue not quiet after 15 s'}`,
      '<= 2',
      verdict(spread.assessments <= 2),
    ],
    [
      `Coalescing: ${COALESCE_COUNT} notifications for one patient at once (all sent in ${ms(burst.sentMs)} ms) -> assessments (writes)`,
      `**${burst.assessments}** (${burst.writes})${burst.quiet ? '' : ', queue not quiet after 15 s'}`,
      '<= 2',
      verdict(burst.assessments <= 2),
    ],
  ];
}

/**
 * The report: a Markdown page and the JSON result.
 * @param r - What the phases measured.
 * @returns The page and the result object.
 */
export function serviceBenchReport(r: ServiceBenchResults): { text: string; json: Record<string, unknown> } {
  const fan = stageValues(r.fanout);
  const one = stageValues(r.single);
  const stageRows = STAGES.map(([label, from, to, inSingle]) => [
    label,
    p50p99(fan(from, to)),
    inSingle ? p50p99(one(from, to)) : '',
  ]);
  const queueOptions = JSON.stringify(r.queueOptions);
  const settings = [
    `database ${DATABASE === 'postgres' ? 'PostgreSQL' : 'PGlite (in-process)'}`,
    `worker concurrency ${r.config.queueConcurrency}`,
    ...(FHIR_DELAY_MS > 0 ? [`${FHIR_DELAY_MS} ms added before every FHIR request`] : []),
    `queue options ${queueOptions === '{}' ? 'the defaults (pollingIntervalSeconds 2, poolSize 5)' : queueOptions}`,
    `load average at start ${LOAD_AT_START}`,
    `Node ${process.version}`,
    `${cpus().length} CPUs`,
    new Date().toISOString().slice(0, 10),
  ].join(', ');
  const load = r.intake.load;
  const text = [
    `# Service benchmark (${DATABASE})`,
    '',
    `\`${DATABASE === 'postgres' ? 'BENCH_DATABASE=postgres ' : ''}npm run bench:service\`: ${settings}. ` +
      'Everything on 127.0.0.1; the service, its sandbox FHIR server and the measuring code share one process; ' +
      'the intake load comes from a child process.',
    '',
    markdownTable(['Measure', 'Result', 'Aim', 'Met'], mainRows(r, fan, one)),
    '',
    `Where the notification-to-Flag time goes, p50 / p99 ms per stage (${PATIENTS} patients each):`,
    '',
    markdownTable(['Stage', 'transaction, notified by the sandbox', 'single notification'], stageRows),
    '',
    `- Event-loop delay of the process: transaction run ${loopDelay(r.fanout.loop)}; single-notification run ${loopDelay(r.single.loop)}; intake run ${loopDelay(r.intake.loop)}.`,
    `- Database statements: ${r.sqlPerPatient.toFixed(0)} per transaction in the transaction run; ${r.intake.sqlPerNotification.toFixed(1)} per notification in the intake run (the worker's included).`,
    `- Intake run: the durable enqueue inside each request took ${p50p99(r.intake.enqueueTimes)} ms (p50 / p99) of the ${ms(load.p50Ms)} / ${ms(load.p99Ms)} ms acknowledgement; ` +
      `${count(load.measured)} notifications in ${(load.wallMs / 1000).toFixed(1)} s, slowest ${ms(load.maxMs)} ms; the worker finished ${count(r.intake.assessedDuring)} jobs meanwhile, ${count(r.intake.backlogAfter)} were still queued at its end.`,
    `- Transaction run: ${(r.fanout.wallMs / 1000).toFixed(1)} s for ${PATIENTS} patients; queue quiet afterwards: ${r.quietAfterFanout}.`,
    '',
  ].join('\n');
  return { text, json: resultJson(r, fan, one) };
}

function resultJson(r: ServiceBenchResults, fan: StageSpan, one: StageSpan): Record<string, unknown> {
  const bareP50 = percentile(r.bare.total, 50);
  const fanToFlag = fan('notifySent', 'flagReceived');
  const oneToFlag = one('notifySent', 'flagReceived');
  const fhirRequests = r.roundTrips.reduce((sum, [, n]) => sum + n, 0);
  const load = r.intake.load;
  return {
    database: DATABASE,
    patients: PATIENTS,
    bare: { total: pair(r.bare.total), read: pair(r.bare.read), write: pair(r.bare.write) },
    singleToFlag: pair(oneToFlag),
    sandboxToFlag: pair(fanToFlag),
    singleRatioP50: percentile(oneToFlag, 50) / bareP50,
    sandboxRatioP50: percentile(fanToFlag, 50) / bareP50,
    // Ending at the Flag's commit, as the bare minimum ends at the write's response (no delivery to a subscriber).
    singleToCommit: pair(one('notifySent', 'flagCommitted')),
    sandboxToCommit: pair(fan('notifySent', 'flagCommitted')),
    singleCommitRatioP50: percentile(one('notifySent', 'flagCommitted'), 50) / bareP50,
    sandboxCommitRatioP50: percentile(fan('notifySent', 'flagCommitted'), 50) / bareP50,
    stages: STAGES.map(([label, from, to, inSingle]) => ({
      label,
      sandbox: pair(fan(from, to)),
      ...(inSingle ? { single: pair(one(from, to)) } : {}),
    })),
    intake: { perSecond: load.perSecond, p50Ms: load.p50Ms, p99Ms: load.p99Ms, errors: load.errors },
    drainPerSecond: r.intake.drainPerSecond,
    roundTripsPerAssessment: fhirRequests / Math.max(1, r.assessments),
    coalesced: { spread: r.spread.assessments, burst: r.burst.assessments },
  };
}
