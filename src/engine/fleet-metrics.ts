/**
 * Prometheus lines of the fleet view, appended to the rewrite loop's metrics: which server this
 * is and which directory revision and config hash it serves (labels, so that "every proxy on
 * revision R" is one query), and failed runs by reason and invalid values by subject.
 */
import type { FleetRunStatus } from './fleet-identity.js';
import type { GenerationMeta } from '../ports.js';

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The lines; `served` is the meta of the generation `current` points at. */
export function formatFleetMetrics(
  served: GenerationMeta | undefined,
  status: FleetRunStatus | undefined,
): string {
  const lines: string[] = [
    '# HELP zmproxy_fleet_info The server, directory revision and directory config hash of the generation served.',
    '# TYPE zmproxy_fleet_info gauge',
  ];
  if (served !== undefined) {
    lines.push(
      // The status file's served identity follows runs that rendered a new revision into the same files.
      `zmproxy_fleet_info{server="${label(served.server)}",generation="${label(served.id)}",revision="${label(status?.servedRevision ?? served.revision ?? '')}",config_hash="${label(status?.servedConfigHash ?? served.directoryHash ?? '')}"} 1`,
    );
  }
  lines.push(
    '# HELP zmproxy_apply_render_failures_total Failed runs by reason (the error code, or the outcome).',
    '# TYPE zmproxy_apply_render_failures_total counter',
  );
  for (const [reason, count] of Object.entries(status?.failures ?? {}).sort()) {
    lines.push(`zmproxy_apply_render_failures_total{reason="${label(reason)}"} ${count}`);
  }
  lines.push(
    '# HELP zmproxy_apply_render_problems_total Invalid values found by failed renders, by attribute or localconfig key.',
    '# TYPE zmproxy_apply_render_problems_total counter',
  );
  for (const [subject, count] of Object.entries(status?.problems ?? {}).sort()) {
    lines.push(`zmproxy_apply_render_problems_total{subject="${label(subject)}"} ${count}`);
  }
  return `${lines.join('\n')}\n`;
}
