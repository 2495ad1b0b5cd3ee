/**
 * A new password typed at the terminal: asked twice on stderr, never echoed. The terminal is in
 * raw mode from before the first question until after the last answer, so nothing typed ahead
 * of a question (a fast typist, a paste of both answers at once) is echoed or lost between the
 * two. Only called when stdin is a terminal.
 */
import { MobrError } from '../errors.js';

/** Lines typed at the terminal in raw mode: Enter ends one, Backspace edits, Ctrl-C or Ctrl-D stops. */
class HiddenLines {
  private readonly lines: (string | MobrError)[] = [];
  private text = '';
  private wake?: () => void;

  readonly onData = (b: Buffer): void => {
    for (const ch of b.toString('utf8')) {
      if (ch === '\r' || ch === '\n') {
        this.lines.push(this.text);
        this.text = '';
      } else if (ch === '\u0003' || ch === '\u0004') return this.stop();
      else if (ch === '\u007f' || ch === '\b') this.text = [...this.text].slice(0, -1).join('');
      else this.text += ch;
    }
    this.wake?.();
  };

  /** Ctrl-C, Ctrl-D or the end of input: every later question fails with INTERRUPTED. */
  readonly stop = (): void => {
    this.lines.push(new MobrError('INTERRUPTED', 'interrupted (no new password)'));
    this.wake?.();
  };

  /** Writes `question` on stderr and waits for the next line typed (or typed ahead). */
  async next(question: string): Promise<string> {
    process.stderr.write(question);
    while (this.lines.length === 0) await new Promise<void>((r) => (this.wake = r));
    process.stderr.write('\n');
    const line = this.lines[0];
    if (line instanceof MobrError) throw line;
    this.lines.shift();
    return line;
  }
}

/** Asks for the new password twice; BAD_INPUT when they differ or it is empty. */
export async function promptNewPassword(): Promise<string> {
  const stdin = process.stdin;
  const typed = new HiddenLines();
  stdin.setRawMode(true);
  stdin.on('data', typed.onData);
  stdin.on('end', typed.stop);
  stdin.resume();
  try {
    const first = await typed.next('new repository password: ');
    if (first === '') throw new MobrError('BAD_INPUT', 'the new password is empty');
    const second = await typed.next('enter it again: ');
    if (first !== second) throw new MobrError('BAD_INPUT', 'the two passwords differ; nothing changed');
    return first;
  } finally {
    stdin.off('data', typed.onData);
    stdin.off('end', typed.stop);
    stdin.setRawMode(false);
    stdin.pause();
  }
}
