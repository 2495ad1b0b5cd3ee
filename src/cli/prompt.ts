/**
 * A new password typed at the terminal: asked twice on stderr, never echoed (the terminal is put
 * in raw mode while it is read). Only called when stdin is a terminal.
 */
import { MobrError } from '../errors.js';

/** Reads one line from the terminal without echo. Ctrl-C or Ctrl-D stops with INTERRUPTED. */
function readHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (e?: MobrError) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (e) reject(e);
      else resolve(text);
    };
    const onData = (b: Buffer) => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new MobrError('INTERRUPTED', 'interrupted (no new password)'));
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else text += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** Asks for the new password twice; BAD_INPUT when they differ or it is empty. */
export async function promptNewPassword(): Promise<string> {
  const first = await readHidden('new repository password: ');
  if (first === '') throw new MobrError('BAD_INPUT', 'the new password is empty');
  const second = await readHidden('enter it again: ');
  if (first !== second) throw new MobrError('BAD_INPUT', 'the two passwords differ; nothing changed');
  return first;
}
