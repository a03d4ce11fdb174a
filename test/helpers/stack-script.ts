/** Runs scripts/stack.sh (no vitest imports: global setup uses this too). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** scripts/stack.sh of this checkout. */
export const STACK_SCRIPT = fileURLToPath(new URL('../../scripts/stack.sh', import.meta.url));

/**
 * Runs `stack.sh ARGS` with extra environment; resolves with its stdout. Its stderr (progress,
 * apt) goes to ours; a non-zero exit or the timeout rejects with the last stderr lines.
 */
export function runStackScript(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [STACK_SCRIPT, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`stack.sh ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else {
        const tail = stderr.trim().split('\n').slice(-15).join('\n');
        reject(new Error(`stack.sh ${args.join(' ')} exited ${String(code)}:\n${tail}`));
      }
    });
  });
}

/** The `KEY=VALUE` lines of stack.sh's output (other lines ignored). */
export function parseStackEnv(stdout: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) env[match[1]] = match[2] ?? '';
  }
  return env;
}
