import { COLON, CR, EQUALS, HEX_VALUE, IS_FIELD_VALUE, IS_TOKEN, LF, SEMICOLON } from './header-tokens.ts';

/**
 * An incremental scanner of a chunked body (RFC 9112 §7.1), for requests and responses alike: it
 * finds where the body ends without changing a byte, so the fast path can pass the bytes through
 * as they arrive. Strict on purpose: whatever llhttp might read differently (whitespace around
 * the size, quoted extension values, bare LF, obs-fold in trailers) is an error, and an error
 * means the fast path stops using the connection.
 */
export type ChunkedScanResult = { readonly consumed: number; readonly done: boolean } | { readonly error: string };

/** Longest chunk-extension text on one size line; Node limits extensions too (CVE-2024-22019). */
export const MAX_CHUNK_EXTENSION_BYTES = 1024;
/** Longest trailer section, final CRLF included. */
export const MAX_TRAILER_BYTES = 8192;

const enum State {
  SizeFirst,
  Size,
  ExtensionNameFirst,
  ExtensionName,
  ExtensionValueFirst,
  ExtensionValue,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerLineStart,
  TrailerName,
  TrailerValue,
  TrailerLf,
  FinalLf,
  Done,
}

/** Largest size before the next hex digit could pass Number.MAX_SAFE_INTEGER. */
const MAX_SIZE_BEFORE_DIGIT = Math.floor((Number.MAX_SAFE_INTEGER - 15) / 16);

export class ChunkedScanner {
  private state = State.SizeFirst;
  /** The chunk size being read, then the data bytes still to come. */
  private remaining = 0;
  private extensionBytes = 0;
  private trailerBytes = 0;

  /** Whether the body has ended (last chunk, trailers, final CRLF). */
  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Scans buf[start..]; returns how many bytes belong to this body so far and whether it ended
   * (then the bytes after `start + consumed` are the next message's), or an error.
   */
  scan(buf: Buffer, start: number): ChunkedScanResult {
    const end = buf.length;
    let p = start;
    while (p < end) {
      if (this.state === State.Data) {
        const take = Math.min(this.remaining, end - p);
        p += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = State.DataCr;
        continue;
      }
      if (this.state === State.Done) break;
      const error = this.step(buf[p]!);
      if (error !== undefined) return { error };
      p++;
    }
    return { consumed: p - start, done: this.state === State.Done };
  }

  /** Advances over one byte outside chunk data; returns an error message or undefined. */
  private step(byte: number): string | undefined {
    switch (this.state) {
      case State.SizeFirst:
      case State.Size: {
        const digit = HEX_VALUE[byte]!;
        if (digit !== 255) {
          if (this.remaining > MAX_SIZE_BEFORE_DIGIT) return 'chunk size too large';
          this.remaining = this.remaining * 16 + digit;
          this.state = State.Size;
          return undefined;
        }
        if (this.state === State.SizeFirst) return `chunk size expected, got byte 0x${byte.toString(16)}`;
        if (byte === CR) return this.to(State.SizeLf);
        if (byte === SEMICOLON) {
          this.extensionBytes = 0;
          return this.to(State.ExtensionNameFirst);
        }
        return `byte 0x${byte.toString(16)} after a chunk size`;
      }
      case State.ExtensionNameFirst:
      case State.ExtensionName:
      case State.ExtensionValueFirst:
      case State.ExtensionValue:
        if (++this.extensionBytes > MAX_CHUNK_EXTENSION_BYTES) return `chunk extensions longer than ${MAX_CHUNK_EXTENSION_BYTES} bytes`;
        return this.extension(byte);
      case State.SizeLf:
        if (byte !== LF) return 'a chunk size line ends in a CR not followed by LF';
        if (this.remaining === 0) {
          this.trailerBytes = 0;
          return this.to(State.TrailerLineStart);
        }
        return this.to(State.Data);
      case State.DataCr:
        return byte === CR ? this.to(State.DataLf) : 'chunk data not followed by CRLF';
      case State.DataLf:
        return byte === LF ? this.to(State.SizeFirst) : 'chunk data followed by a CR not followed by LF';
      default:
        if (++this.trailerBytes > MAX_TRAILER_BYTES) return `trailers longer than ${MAX_TRAILER_BYTES} bytes`;
        return this.trailer(byte);
    }
  }

  /** `;name` or `;name=value`, tokens only: quoted strings and whitespace are errors. */
  private extension(byte: number): string | undefined {
    const token = IS_TOKEN[byte] === 1;
    switch (this.state) {
      case State.ExtensionNameFirst:
        return token ? this.to(State.ExtensionName) : 'a chunk extension without a name';
      case State.ExtensionValueFirst:
        return token ? this.to(State.ExtensionValue) : 'a chunk extension value that is not a token';
      default:
        if (token) return undefined;
        if (byte === CR) return this.to(State.SizeLf);
        if (byte === SEMICOLON) return this.to(State.ExtensionNameFirst);
        if (byte === EQUALS && this.state === State.ExtensionName) return this.to(State.ExtensionValueFirst);
        return `byte 0x${byte.toString(16)} in a chunk extension`;
    }
  }

  /** Trailer fields, as strict as header fields, then the empty line that ends the body. */
  private trailer(byte: number): string | undefined {
    switch (this.state) {
      case State.TrailerLineStart:
        if (byte === CR) return this.to(State.FinalLf);
        return IS_TOKEN[byte] === 1 ? this.to(State.TrailerName) : `byte 0x${byte.toString(16)} at the start of a trailer line`;
      case State.TrailerName:
        if (byte === COLON) return this.to(State.TrailerValue);
        return IS_TOKEN[byte] === 1 ? undefined : `byte 0x${byte.toString(16)} in a trailer name`;
      case State.TrailerValue:
        if (byte === CR) return this.to(State.TrailerLf);
        return IS_FIELD_VALUE[byte] === 1 ? undefined : `control byte 0x${byte.toString(16)} in a trailer value`;
      case State.TrailerLf:
        return byte === LF ? this.to(State.TrailerLineStart) : 'a trailer line ends in a CR not followed by LF';
      case State.FinalLf:
        return byte === LF ? this.to(State.Done) : 'the chunked body ends in a CR not followed by LF';
      default:
        return 'chunked scanner in an impossible state';
    }
  }

  private to(state: State): undefined {
    this.state = state;
    return undefined;
  }
}
