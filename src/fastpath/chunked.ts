// STUB by fastpath-io, replaced by fastpath-parse's scanner at merge.
const enum State { Size, Ext, SizeLf, Data, DataCr, DataLf, TrailerStart, Trailer, TrailerLf, EndLf, Done }

export class ChunkedScanner {
  #state = State.Size;
  #remaining = 0;
  #digits = 0;

  scan(buf: Buffer, start: number): { readonly consumed: number; readonly done: boolean } | { readonly error: string } {
    let i = start;
    while (i < buf.length && this.#state !== State.Done) {
      const c = buf[i]!;
      switch (this.#state) {
        case State.Size: {
          const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
          if (d >= 0) {
            if (++this.#digits > 12) return { error: 'chunk size too long' };
            this.#remaining = this.#remaining * 16 + d;
          } else if (this.#digits === 0) return { error: 'chunk size expected' };
          else if (c === 13) this.#state = State.SizeLf;
          else if (c === 59) this.#state = State.Ext;
          else return { error: 'bad chunk size' };
          break;
        }
        case State.Ext:
          if (c === 13) this.#state = State.SizeLf;
          else if (c < 32 && c !== 9) return { error: 'bad chunk extension' };
          break;
        case State.SizeLf:
          if (c !== 10) return { error: 'expected LF' };
          this.#digits = 0;
          this.#state = this.#remaining === 0 ? State.TrailerStart : State.Data;
          break;
        case State.Data: {
          const n = Math.min(this.#remaining, buf.length - i);
          this.#remaining -= n;
          i += n;
          if (this.#remaining === 0) this.#state = State.DataCr;
          continue;
        }
        case State.DataCr:
          if (c !== 13) return { error: 'expected CR after chunk' };
          this.#state = State.DataLf;
          break;
        case State.DataLf:
          if (c !== 10) return { error: 'expected LF after chunk' };
          this.#state = State.Size;
          break;
        case State.TrailerStart:
          this.#state = c === 13 ? State.EndLf : State.Trailer;
          if (c === 10) return { error: 'bare LF' };
          break;
        case State.Trailer:
          if (c === 13) this.#state = State.TrailerLf;
          else if (c === 10) return { error: 'bare LF' };
          break;
        case State.TrailerLf:
          if (c !== 10) return { error: 'expected LF' };
          this.#state = State.TrailerStart;
          break;
        case State.EndLf:
          if (c !== 10) return { error: 'expected LF' };
          this.#state = State.Done;
          break;
      }
      i++;
    }
    return { consumed: i - start, done: this.#state === State.Done };
  }
}
