/** Prometheus text exposition of the rewrite loop's state (a textfile for cron, HTTP for --watch). */
import type { ApplyState } from '../ports.js';

type Sample = readonly [labels: string, value: number];

/** A metric: name, type, help, and its samples from the state. */
type MetricRow = readonly [
  name: string,
  type: 'gauge' | 'counter',
  help: string,
  samples: (state: ApplyState) => readonly Sample[],
];

const seconds = (ms: number | undefined): readonly Sample[] => [
  ['', ms === undefined ? 0 : ms / 1000],
];
const count = (value: number): readonly Sample[] => [['', value]];

/** Every metric, in the order printed. */
const METRICS: readonly MetricRow[] = [
  [
    'zmproxy_apply_last_success_timestamp_seconds',
    'gauge',
    'End of the last run that succeeded (unchanged, reloaded or published).',
    (state) => seconds(state.lastSuccessAt),
  ],
  [
    'zmproxy_apply_last_run_timestamp_seconds',
    'gauge',
    'End of the last run, whatever its outcome.',
    (state) => seconds(state.lastRunAt),
  ],
  [
    'zmproxy_apply_last_reload_timestamp_seconds',
    'gauge',
    'Time of the last reload (or publication while nginx was stopped).',
    (state) => seconds(state.lastReloadAt),
  ],
  [
    'zmproxy_apply_config_info',
    'gauge',
    'The generation and configuration hash currently published.',
    (state) => [[`{hash="${state.configHash ?? ''}",generation="${state.generation ?? ''}"}`, 1]],
  ],
  [
    'zmproxy_apply_last_result',
    'gauge',
    'The outcome of the last run (1 for the outcome it had).',
    (state) => [[`{result="${state.lastResult ?? 'none'}"}`, 1]],
  ],
  [
    'zmproxy_apply_runs_total',
    'counter',
    'Runs of the rewrite loop.',
    (state) => count(state.runs),
  ],
  [
    'zmproxy_apply_reloads_total',
    'counter',
    'Reloads that nginx confirmed.',
    (state) => count(state.reloads),
  ],
  [
    'zmproxy_apply_reload_failures_total',
    'counter',
    'Reloads that failed and were rolled back.',
    (state) => count(state.reloadFailures),
  ],
  [
    'zmproxy_apply_validation_failures_total',
    'counter',
    'Generations nginx -t refused.',
    (state) => count(state.validationFailures),
  ],
  [
    'zmproxy_apply_guard_refusals_total',
    'counter',
    'Generations the sanity guard refused.',
    (state) => count(state.guardRefusals),
  ],
  [
    'zmproxy_apply_directory_failures_total',
    'counter',
    'Runs that could not read the directory.',
    (state) => count(state.directoryFailures),
  ],
  [
    'zmproxy_apply_duration_seconds',
    'gauge',
    'Duration of each phase of the last run.',
    (state) =>
      Object.entries(state.durations).map(([phase, value]) => [`{phase="${phase}"}`, value]),
  ],
];

const DAEMON_UP: MetricRow = [
  'zmproxy_apply_daemon_up',
  'gauge',
  '1 while the --watch daemon runs.',
  () => count(1),
];

/** Formats the counters, timestamps and durations of `state`. */
export function formatApplyMetrics(state: ApplyState, extra: { daemon?: boolean } = {}): string {
  const rows = extra.daemon === true ? [...METRICS, DAEMON_UP] : METRICS;
  const lines = rows.flatMap(([name, type, help, samples]) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...samples(state).map(([labels, value]) => `${name}${labels} ${value}`),
  ]);
  return `${lines.join('\n')}\n`;
}
