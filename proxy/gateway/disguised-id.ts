import { randomInt } from 'node:crypto';

const HEX = '0123456789abcdef';

/**
 * An id that cannot name anything on the gateway, in the shape of `id`: each letter and digit
 * replaced by a random hex digit, every other character kept. A UUID keeps 128 random bits, so it
 * can be neither guessed nor made in advance (not even by a gateway that lets clients pick kernel
 * ids). Same length, same ASCII positions: swapping it back in an answer changes no byte count.
 */
export function disguisedId(id: string): string {
  let out = '';
  for (const ch of id) out += /[A-Za-z0-9]/.test(ch) ? HEX[randomInt(16)] : ch;
  return out;
}

/** The gateway's answer about `fake`, made an answer about `real`: the id swapped back, in plain and JSON-escaped form. */
export function swapIdBack(body: Buffer, fake: string, real: string): Buffer {
  let text = body.toString('utf8');
  const escaped = (s: string) => JSON.stringify(s).slice(1, -1);
  text = text.replaceAll(escaped(fake), escaped(real));
  if (fake !== escaped(fake)) text = text.replaceAll(fake, real);
  return Buffer.from(text, 'utf8');
}
