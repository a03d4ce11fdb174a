/** Prometheus text exposition of the rewrite loop's state (a textfile for cron, HTTP for --watch). */
import type { ApplyState } from '../ports.js';

type Sample = readonly [labels: string, value: number];

/** A metric: name, type, help, and its samples from the state. */
interface Metric {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: (state: ApplyState) => readonly Sample[];
}

type CounterField =
  | 'runs'
  | 'reloads'
  | 'reloadFailures'
  | 'validationFailures'
  | 'guardRefusals'
  | 'directoryFailures';
type TimeField = 'lastSuccessAt' | 'lastRunAt' | 'lastReloadAt';

/** A gauge of a moment of the state, in seconds since the epoch (0: never). */
const moment = (name: string, help: string, field: TimeField): Metric => ({
  name,
  type: 'gauge',
  help,
  samples: (state) => [['', (state[field] ?? 0) / 1000]],
});

/** A counter of the state. */
const counter = (name: string, help: string, field: CounterField): Metric => ({
  name,
  type: 'counter',
  help,
  samples: (state) => [['', state[field]]],
});

/** A gauge at 1 whose labels say what holds. */
const info = (name: string, help: string, labels: (state: ApplyState) => string): Metric => ({
  name,
  type: 'gauge',
  help,
  samples: (state) => [[labels(state), 1]],
});

/** Every metric, in the order printed. */
const METRICS: readonly Metric[] = [
  moment(
    'zmproxy_apply_last_success_timestamp_seconds',
    'End of the last run that succeeded (unchanged, reloaded or published).',
    'lastSuccessAt',
  ),
  moment(
    'zmproxy_apply_last_run_timestamp_seconds',
    'End of the last run, whatever its outcome.',
    'lastRunAt',
  ),
  moment(
    'zmproxy_apply_last_reload_timestamp_seconds',
    'Time of the last reload (or publication while nginx was stopped).',
    'lastReloadAt',
  ),
  info(
    'zmproxy_apply_config_info',
    'The generation and configuration hash currently published.',
    (state) => `{hash="${state.configHash ?? ''}",generation="${state.generation ?? ''}"}`,
  ),
  info(
    'zmproxy_apply_last_result',
    'The outcome of the last run (1 for the outcome it had).',
    (state) => `{result="${state.lastResult ?? 'none'}"}`,
  ),
  counter('zmproxy_apply_runs_total', 'Runs of the rewrite loop.', 'runs'),
  counter('zmproxy_apply_reloads_total', 'Reloads that nginx confirmed.', 'reloads'),
  counter(
    'zmproxy_apply_reload_failures_total',
    'Reloads that failed and were rolled back.',
    'reloadFailures',
  ),
  counter(
    'zmproxy_apply_validation_failures_total',
    'Generations nginx -t refused.',
    'validationFailures',
  ),
  counter(
    'zmproxy_apply_guard_refusals_total',
    'Generations the sanity guard refused.',
    'guardRefusals',
  ),
  counter(
    'zmproxy_apply_directory_failures_total',
    'Runs that could not read the directory.',
    'directoryFailures',
  ),
  {
    name: 'zmproxy_apply_duration_seconds',
    type: 'gauge',
    help: 'Duration of each phase of the last run.',
    samples: (state) =>
      Object.entries(state.durations).map(([phase, value]) => [`{phase="${phase}"}`, value]),
  },
];

const DAEMON_UP = info('zmproxy_apply_daemon_up', '1 while the --watch daemon runs.', () => '');

/** Formats the counters, timestamps and durations of `state`. */
export function formatApplyMetrics(state: ApplyState, extra: { daemon?: boolean } = {}): string {
  const metrics = extra.daemon === true ? [...METRICS, DAEMON_UP] : METRICS;
  const lines = metrics.flatMap(({ name, type, help, samples }) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...samples(state).map(([labels, value]) => `${name}${labels} ${value}`),
  ]);
  return `${lines.join('\n')}\n`;
}
