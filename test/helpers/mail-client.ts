/**
 * A minimal IMAP/POP3 client for end-to-end tests: STARTTLS (STLS), then one login by the
 * command asked for (IMAP LOGIN or AUTHENTICATE PLAIN, POP3 USER/PASS or AUTH PLAIN). Returns
 * whether the login was accepted and the transcript (passwords masked).
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** Reads lines from a socket; `until` resolves with the first line a predicate accepts. */
function lineReader(socket: Socket, transcript: string[]) {
  let buffer = '';
  const lines: string[] = [];
  let waiter: (() => void) | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, at).replace(/\r$/, '');
      buffer = buffer.slice(at + 1);
      transcript.push(`S: ${line}`);
      lines.push(line);
    }
    waiter?.();
  });
  socket.on('close', () => waiter?.());
  return {
    async until(accept: (line: string) => boolean, timeoutMs = 20_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = lines.findIndex(accept);
        if (index >= 0) return lines.splice(0, index + 1)[index] ?? '';
        if (socket.destroyed || Date.now() > deadline) {
          throw new Error(`no expected line; transcript:\n${transcript.join('\n')}`);
        }
        await new Promise<void>((resolve) => {
          waiter = resolve;
          setTimeout(resolve, 200);
        });
      }
    },
    detach(): void {
      socket.removeAllListeners('data');
    },
  };
}

export interface LoginResult {
  ok: boolean;
  /** The server's answer to the login. */
  answer: string;
  transcript: string;
}

export type MailLoginMethod = 'imap-login' | 'imap-plain' | 'pop3-user' | 'pop3-plain';

/** Connects to 127.0.0.1:`port`, upgrades with STARTTLS/STLS, and logs in with `method`. */
export async function mailLogin(
  port: number,
  method: MailLoginMethod,
  user: string,
  password: string,
  options: { starttls?: boolean } = {},
): Promise<LoginResult> {
  const transcript: string[] = [];
  const imap = method.startsWith('imap');
  const plain = socketOf(connect(port, '127.0.0.1'));
  let socket: Socket = await plain;
  let reader = lineReader(socket, transcript);
  const send = (line: string, shown = line): void => {
    transcript.push(`C: ${shown}`);
    socket.write(`${line}\r\n`);
  };
  try {
    await reader.until((l) => (imap ? l.startsWith('* OK') : l.startsWith('+OK')));
    if (options.starttls !== false) {
      send(imap ? 's1 STARTTLS' : 'STLS');
      await reader.until((l) => (imap ? l.startsWith('s1 ') : /^[+-]/.test(l)));
      reader.detach();
      socket = await socketOf(
        tlsConnect({ socket, rejectUnauthorized: false, servername: 'localhost' }),
        'secureConnect',
      );
      reader = lineReader(socket, transcript);
    }
    const sasl = Buffer.from(`\0${user}\0${password}`).toString('base64');
    let answer: string;
    if (method === 'imap-login') {
      send(`a1 LOGIN "${user}" "${password}"`, `a1 LOGIN "${user}" ***`);
      answer = await reader.until((l) => l.startsWith('a1 '));
    } else if (method === 'imap-plain') {
      send('a1 AUTHENTICATE PLAIN');
      const next = await reader.until((l) => l.startsWith('+') || l.startsWith('a1 '));
      if (next.startsWith('+')) {
        send(sasl, '***');
        answer = await reader.until((l) => l.startsWith('a1 '));
      } else answer = next;
    } else if (method === 'pop3-user') {
      send(`USER ${user}`);
      const first = await reader.until((l) => /^[+-]/.test(l));
      if (first.startsWith('+OK')) {
        send(`PASS ${password}`, 'PASS ***');
        answer = await reader.until((l) => /^[+-]/.test(l));
      } else answer = first;
    } else {
      send('AUTH PLAIN');
      const next = await reader.until((l) => /^[+-]/.test(l));
      if (next.startsWith('+ ') || next === '+') {
        send(sasl, '***');
        answer = await reader.until((l) => l.startsWith('+OK') || l.startsWith('-ERR'));
      } else answer = next;
    }
    const ok = imap ? /^a1 OK/.test(answer) : answer.startsWith('+OK');
    send(imap ? 'a2 LOGOUT' : 'QUIT');
    return { ok, answer, transcript: transcript.join('\n') };
  } finally {
    socket.destroy();
  }
}

function socketOf<T extends Socket>(socket: T, event = 'connect'): Promise<T> {
  return new Promise((resolve, reject) => {
    socket.once(event, () => resolve(socket));
    socket.once('error', reject);
  });
}
