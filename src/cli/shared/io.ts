import { EXIT } from './run.js';

/** What a CLI command writes to: real streams in bin/, strings in tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stdout is a terminal (colour, progress). */
  isTty?: boolean;
}

/** The process's own streams; a reader that goes away early ends the command quietly. */
export function processIo(): CliIo {
  endQuietlyWhenReaderCloses();
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    isTty: process.stdout.isTTY,
  };
}

let readerWatched = false;

/**
 * `zmproxyconfgen -d | head`: once head exits, the next write fails with EPIPE. A C tool dies of
 * SIGPIPE there; node ignores that signal and would print a stack trace for the stream error.
 * Exit as the shell expects of a command whose reader closed (128 + SIGPIPE), saying nothing.
 */
function endQuietlyWhenReaderCloses(): void {
  if (readerWatched) return;
  readerWatched = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(EXIT.readerClosed);
      throw error;
    });
  }
}
