/** What a CLI command writes to: real streams in bin/, strings in tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stdout is a terminal (colour, progress). */
  isTty?: boolean;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    isTty: process.stdout.isTTY,
  };
}
