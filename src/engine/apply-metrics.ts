/** Prometheus text exposition of the rewrite loop's state (a textfile for cron, HTTP for --watch). */
import type { ApplyState } from '../ports.js';

/** Formats the counters, timestamps and durations of `state`. */
export function formatApplyMetrics(state: ApplyState, extra: { daemon?: boolean } = {}): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: 'gauge' | 'counter',
    help: string,
    samples: readonly [labels: string, value: number][],
  ): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  const ts = (ms: number | undefined): number => (ms === undefined ? 0 : ms / 1000);
  metric(
    'zmproxy_apply_last_success_timestamp_seconds',
    'gauge',
    'End of the last run that succeeded (unchanged, reloaded or published).',
    [['', ts(state.lastSuccessAt)]],
  );
  metric(
    'zmproxy_apply_last_run_timestamp_seconds',
    'gauge',
    'End of the last run, whatever its outcome.',
    [['', ts(state.lastRunAt)]],
  );
  metric(
    'zmproxy_apply_last_reload_timestamp_seconds',
    'gauge',
    'Time of the last reload (or publication while nginx was stopped).',
    [['', ts(state.lastReloadAt)]],
  );
  metric(
    'zmproxy_apply_config_info',
    'gauge',
    'The generation and configuration hash currently published.',
    [[`{hash="${state.configHash ?? ''}",generation="${state.generation ?? ''}"}`, 1]],
  );
  metric(
    'zmproxy_apply_last_result',
    'gauge',
    'The outcome of the last run (1 for the outcome it had).',
    [[`{result="${state.lastResult ?? 'none'}"}`, 1]],
  );
  metric('zmproxy_apply_runs_total', 'counter', 'Runs of the rewrite loop.', [['', state.runs]]);
  metric('zmproxy_apply_reloads_total', 'counter', 'Reloads that nginx confirmed.', [
    ['', state.reloads],
  ]);
  metric(
    'zmproxy_apply_reload_failures_total',
    'counter',
    'Reloads that failed and were rolled back.',
    [['', state.reloadFailures]],
  );
  metric('zmproxy_apply_validation_failures_total', 'counter', 'Generations nginx -t refused.', [
    ['', state.validationFailures],
  ]);
  metric('zmproxy_apply_guard_refusals_total', 'counter', 'Generations the sanity guard refused.', [
    ['', state.guardRefusals],
  ]);
  metric(
    'zmproxy_apply_directory_failures_total',
    'counter',
    'Runs that could not read the directory.',
    [['', state.directoryFailures]],
  );
  metric(
    'zmproxy_apply_duration_seconds',
    'gauge',
    'Duration of each phase of the last run.',
    Object.entries(state.durations).map(([phase, value]) => [`{phase="${phase}"}`, value]),
  );
  if (extra.daemon === true)
    metric('zmproxy_apply_daemon_up', 'gauge', '1 while the --watch daemon runs.', [['', 1]]);
  return `${lines.join('\n')}\n`;
}
