/** The TCP probe: connects to each address and port once, with a timeout, and times it. */
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** One address and port to connect to. */
export interface TcpQuestion {
  address: string;
  port: number;
}

/** How one connect went. */
export type TcpAnswer =
  | { address: string; port: number; ok: true; ms: number }
  | {
      address: string;
      port: number;
      ok: false;
      ms: number;
      /** `ECONNREFUSED`, `EHOSTUNREACH`, `timeout`, … */
      code: string;
      message: string;
    };

/** Options of {@link probeTcp}. */
export interface TcpProbeOptions {
  /** Milliseconds a connect may take. @default 3000 */
  timeoutMs?: number;
  /** Connects in flight at once. @default 16 */
  concurrency?: number;
}

/** Connects to every distinct address and port; a failure is an answer, never a thrown error. */
export async function probeTcp(
  questions: readonly TcpQuestion[],
  options: TcpProbeOptions = {},
): Promise<TcpAnswer[]> {
  const unique = [
    ...new Map(questions.map((q) => [`${q.address}|${q.port}`, q] as const)).values(),
  ];
  const answers: TcpAnswer[] = [];
  const queue = [...unique];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      answers.push(await connectOnce(next, options.timeoutMs ?? 3000));
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency ?? 16, unique.length) }, worker),
  );
  return answers;
}

function connectOnce(question: TcpQuestion, timeoutMs: number): Promise<TcpAnswer> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const socket = new Socket();
    const finish = (answer: TcpAnswer): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () =>
      finish({
        ...question,
        ok: false,
        ms: elapsed(),
        code: 'timeout',
        message: `no answer within ${timeoutMs} ms`,
      }),
    );
    socket.once('connect', () => finish({ ...question, ok: true, ms: elapsed() }));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish({
        ...question,
        ok: false,
        ms: elapsed(),
        code: error.code ?? 'error',
        message: error.message,
      }),
    );
    socket.connect({ host: question.address, port: question.port });
  });
}
