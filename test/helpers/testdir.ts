/** Temporary directories for tests that touch the file system; removed when the test ends. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { onTestFinished } from 'vitest';
import type { CliIo } from '../../src/cli/shared/io.js';

/** A temp directory holding `files` (relative path → content), removed after the test. */
export function testdir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'zmproxy-test-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** Captures what a CLI command prints. */
export function captureIo() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: (text: string) => {
        out.stdout += text;
      },
      stderr: (text: string) => {
        out.stderr += text;
      },
    },
  };
}

/** Runs a CLI command's `run(argv, io)` in-process; returns its exit code and what it printed. */
export async function runCli(
  run: (argv: readonly string[], io: CliIo) => Promise<number>,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { io, out } = captureIo();
  const code = await run(args, io);
  return { code, ...out };
}
