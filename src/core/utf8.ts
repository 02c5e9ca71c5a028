/**
 * Incremental UTF-8 validation (RFC 3629, as RFC 6455 §8.1 requires for text messages). The
 * validator keeps its position inside a multi-byte sequence across calls, so a message validated
 * chunk by chunk, split anywhere, gives the same verdict as the whole message, and it reports an
 * error at the first byte that can no longer start or continue a valid sequence ("fail fast").
 * Its verdicts agree with `new TextDecoder('utf-8', { fatal: true })`: no overlong forms, no
 * surrogates U+D800–U+DFFF, nothing above U+10FFFF. It only validates: it never decodes or copies.
 */

/**
 * A streaming UTF-8 validator. Feed it chunks with {@link Utf8Validator.write}; after the last
 * chunk, {@link Utf8Validator.isComplete} tells whether the text ended on a character boundary.
 */
export class Utf8Validator {
  /** Continuation bytes still expected for the current sequence (0–3). */
  private pending = 0;
  /** Smallest allowed value of the next continuation byte. */
  private lower = 0x80;
  /** Largest allowed value of the next continuation byte. */
  private upper = 0xbf;

  /**
   * Validate the next chunk of text.
   *
   * @returns false as soon as the bytes so far cannot be the start of valid UTF-8; after that,
   * the validator stays failed until {@link Utf8Validator.reset}
   */
  write(bytes: Uint8Array): boolean {
    let pending = this.pending;
    if (pending === -1) return false;
    let lower = this.lower;
    let upper = this.upper;
    const length = bytes.length;
    for (let i = 0; i < length; i++) {
      const b = bytes[i]!;
      if (pending === 0) {
        if (b < 0x80) continue;
        if (b >= 0xc2 && b <= 0xdf) {
          pending = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
          pending = 2;
          // E0 A0..BF excludes overlong 3-byte forms; ED 80..9F excludes surrogates.
          if (b === 0xe0) lower = 0xa0;
          else if (b === 0xed) upper = 0x9f;
        } else if (b >= 0xf0 && b <= 0xf4) {
          pending = 3;
          // F0 90..BF excludes overlong 4-byte forms; F4 80..8F stops at U+10FFFF.
          if (b === 0xf0) lower = 0x90;
          else if (b === 0xf4) upper = 0x8f;
        } else {
          this.pending = -1;
          return false;
        }
      } else {
        if (b < lower || b > upper) {
          this.pending = -1;
          return false;
        }
        lower = 0x80;
        upper = 0xbf;
        pending--;
      }
    }
    this.pending = pending;
    this.lower = lower;
    this.upper = upper;
    return true;
  }

  /** True when no invalid byte was seen and the text so far ends on a character boundary. */
  isComplete(): boolean {
    return this.pending === 0;
  }

  /** Forget everything and start a new text. */
  reset(): void {
    this.pending = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }
}

const oneShot = new Utf8Validator();

/** Whether `bytes` is complete, valid UTF-8. Pure JavaScript; allocation-free. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  oneShot.reset();
  const ok = oneShot.write(bytes) && oneShot.isComplete();
  oneShot.reset();
  return ok;
}
