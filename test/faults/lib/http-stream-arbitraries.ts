/**
 * fast-check generators of HTTP/1 byte streams for the fast path's differential tests: mostly
 * well-formed requests and responses, with borderline and hostile variants mixed in (duplicate
 * or conflicting lengths, Transfer-Encoding variants, obs-fold, bare LF and CR, NUL and other
 * control bytes, odd chunk sizes, extensions and trailers, heads near the size limit, pipelining).
 * Streams are latin1 strings: one character per byte.
 */
import fc from 'fast-check';

/** Node's default maxHeaderSize, the fast path's head limit in these tests. */
export const NODE_MAX_HEADER_SIZE = 16384;

const usually = <T>(common: fc.Arbitrary<T>, rare: fc.Arbitrary<T>, odds = 12): fc.Arbitrary<T> => fc.oneof({ weight: odds, arbitrary: common }, { weight: 1, arbitrary: rare });

const eol = usually(fc.constant('\r\n'), fc.constantFrom('\n', '\r', '\r\r\n', ' \r\n', '\n\r'), 25);
const anyBytes = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b)), maxLength });

const lengthValue = fc.oneof(fc.nat({ max: 40 }).map(String), fc.constantFrom('007', '+5', '-1', '5, 5', '5,5', '5 5', '0x5', '5.0', '', ' ', '99999999999999999999', '9007199254740991', '9007199254740992', '１'));
const teValue = fc.constantFrom('chunked', 'Chunked', 'CHUNKED', ' chunked', 'chunked ', 'xchunked', 'chunkedx', 'chunked, gzip', 'gzip, chunked', 'gzip,chunked', 'identity', 'chunked, identity', 'chunked\0', '"chunked"', 'chunked;q=1', '');
const connectionValue = fc.constantFrom('close', 'Close', 'keep-alive', 'Keep-Alive', 'keep-alive, close', 'close, keep-alive', 'upgrade', 'Upgrade', 'x-close', 'closed', 'keep-alive, x-a', 'te', '');
const plainValue = usually(fc.constantFrom('text/plain', 'a=b; c=d', '1', 'x y', '  padded  ', '\tx\t', 'caf\xe9', '', '*/*', 'gzip, br'), fc.oneof(anyBytes(20), fc.constantFrom('a\0b', 'a\x01b', 'a\x7fb', 'a\x0bb', 'a\rb', 'a\nb', 'a\r\n b')), 6);

const headerName = usually(
  fc.constantFrom('X-Custom', 'Accept', 'Content-Type', 'Cookie', 'User-Agent', 'x-a', 'Te', 'Trailer', 'Keep-Alive', 'Via', 'X-Forwarded-For'),
  fc.oneof(fc.constantFrom('X A', 'X\0A', 'X(A)', '', ' X-A', 'X-A ', 'X-A\t', 'Hos\xe9t', 'X:A', '\x7f', 'Content-Length ', ' Transfer-Encoding'), fc.string({ unit: fc.constantFrom(...'abcXYZ09-_!#$%&*+.^`|~'.split('')), minLength: 1, maxLength: 10 })),
  5,
);
const separator = usually(fc.constant(': '), fc.constantFrom(':', ':\t', ' : ', ':  ', '\t:', ': \t'), 6);

/** Header lines a well-behaved client or backend sends. */
const cleanHeaderLine: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom('X-Custom', 'Accept', 'Content-Type', 'Cookie', 'User-Agent', 'x-a', 'Via', 'X-Forwarded-For', 'Keep-Alive'), fc.constantFrom(': ', ':', ':\t'), fc.constantFrom('text/plain', 'a=b; c=d', '1', 'x y', '  padded  ', '\tx\t', 'caf\xe9', '', '*/*', 'gzip, br'), fc.constant('\r\n')).map((p) => p.join('')),
  fc.constantFrom('Connection: close\r\n', 'Connection: keep-alive\r\n', 'connection: Keep-Alive, x-a\r\n', 'Connection: x-a\r\n'),
);

/** Header lines that matter for framing and connection handling, plus filler, some hostile. */
export const headerLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(headerName, separator, plainValue, eol).map((p) => p.join('')) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('Content-Length', 'content-length', 'CONTENT-LENGTH'), separator, lengthValue, eol).map((p) => p.join('')) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('Transfer-Encoding', 'transfer-encoding'), separator, teValue, eol).map((p) => p.join('')) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('Connection', 'connection', 'Proxy-Connection'), separator, connectionValue, eol).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('Host', 'host', 'HOST'), separator, fc.constantFrom('a.example', 'b.example:8080', '', 'a.example, b.example'), eol).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.constantFrom('Expect: 100-continue\r\n', 'Upgrade: websocket\r\n', 'Upgrade: h2c\r\n') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(' ', '\t'), plainValue, eol).map((p) => p.join('')) }, // obs-fold
);

/** A chunked body: chunks with sizes in odd spellings, extensions, trailers; sometimes broken. */
export const chunkedBody: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(
      fc.tuple(
        fc.integer({ min: 1, max: 40 }),
        usually(fc.constantFrom('lower', 'upper', 'zeros'), fc.constantFrom(' pre', 'post ', 'tab', '0x', '+', 'empty', 'huge'), 10),
        usually(fc.constant(''), fc.constantFrom(';a', ';a=b', ';a=b;c', ';a="b c"', '; a', ';', ';a=', ';a b', `;${'e'.repeat(2000)}`), 6),
        eol,
        usually(fc.constant(0), fc.constantFrom(-1, 1), 10),
        eol,
      ),
      { maxLength: 4 },
    ),
    usually(fc.constant(''), fc.constantFrom(';a', ';a=b', ';a="b"'), 6),
    eol,
    fc.array(fc.tuple(fc.constantFrom('X-Sum', 'Expires', 'x', 'Bad Name', ' folded'), separator, plainValue, eol).map((p) => p.join('')), { maxLength: 2 }),
    eol,
  )
  .chain(([chunks, lastExt, lastEol, trailers, finalEol]) =>
    fc.tuple(...chunks.map(([size]) => anyBytes(size + 1).map((s) => s.padEnd(size + 1, '\r').slice(0, size + 1)))).map((datas) => {
      let body = '';
      chunks.forEach(([size, spelling, ext, sizeEol, skew, dataEol], i) => {
        body += `${spellSize(size, spelling)}${ext}${sizeEol}${datas[i]!.slice(0, Math.max(0, size + skew))}${dataEol}`;
      });
      return `${body}0${lastExt}${lastEol}${trailers.join('')}${finalEol}`;
    }),
  );

/** A well-formed chunked body: sizes in either case, token extensions, trailers. */
const cleanChunkedBody: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(fc.tuple(anyBytes(40).filter((d) => d.length > 0), fc.boolean(), fc.constantFrom('', '', ';a', ';a=b;c')), { maxLength: 4 }),
    fc.array(fc.constantFrom('X-Sum: 1\r\n', 'Expires: 0\r\n'), { maxLength: 2 }),
  )
  .map(([chunks, trailers]) => `${chunks.map(([data, upper, ext]) => `${spellSize(data.length, upper ? 'upper' : 'lower')}${ext}\r\n${data}\r\n`).join('')}0\r\n${trailers.join('')}\r\n`);

function spellSize(size: number, spelling: string): string {
  const hex = size.toString(16);
  switch (spelling) {
    case 'upper': return hex.toUpperCase();
    case 'zeros': return `000${hex}`;
    case ' pre': return ` ${hex}`;
    case 'post ': return `${hex} `;
    case 'tab': return `${hex}\t`;
    case '0x': return `0x${hex}`;
    case '+': return `+${hex}`;
    case 'empty': return '';
    case 'huge': return `fffffffffffffffff${hex}`;
    default: return hex;
  }
}

/** How a generated request frames its body. */
const requestBody: fc.Arbitrary<{ headers: string[]; body: string }> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<{ headers: string[]; body: string }>({ headers: [], body: '' }) },
  { weight: 4, arbitrary: fc.tuple(anyBytes(30), usually(fc.constant(0), fc.constantFrom(-2, -1, 1, 3))).map(([body, skew]) => ({ headers: [`Content-Length: ${body.length + skew}\r\n`], body })) },
  { weight: 4, arbitrary: chunkedBody.map((body) => ({ headers: ['Transfer-Encoding: chunked\r\n'], body })) },
  { weight: 1, arbitrary: chunkedBody.map((body) => ({ headers: ['Transfer-Encoding: chunked\r\n', `Content-Length: ${body.length}\r\n`], body })) },
  { weight: 1, arbitrary: chunkedBody.map((body) => ({ headers: [`Content-Length: 4\r\n`, 'Transfer-Encoding: chunked\r\n'], body })) },
);

/** Pads a head to near Node's header size limit, or adds many header fields. */
const bulk = usually(
  fc.constant(''),
  fc.oneof(
    fc.integer({ min: NODE_MAX_HEADER_SIZE - 160, max: NODE_MAX_HEADER_SIZE + 20 }).map((n) => `X-Pad: ${'p'.repeat(n - 120)}\r\n`),
    fc.constantFrom(990, 996, 998, 999, 1000, 1001, 1022, 1023, 1024, 2001).map((n) => 'a:\r\n'.repeat(n)),
  ),
  25,
);

/** One well-formed request, with either framing and any of the headers a client sends. */
const cleanRequestText: fc.Arbitrary<string> = fc
  .record({
    method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
    target: fc.constantFrom('/', '/a', '/a/b?c=d&e', '/%7e', '/a;b', "/!$&'()*+,=:@~", '/?', '//x'),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'),
    headers: fc.array(cleanHeaderLine, { maxLength: 5 }),
    hostAt: fc.nat(),
    body: fc.oneof(
      anyBytes(30).map((body) => ({ headers: [`Content-Length: ${body.length}\r\n`], body })),
      fc.constant({ headers: [] as string[], body: '' }),
    ),
    chunked: fc.option(cleanChunkedBody),
  })
  .map((r) => {
    const framing = r.chunked !== null && r.version === 'HTTP/1.1' ? { headers: ['Transfer-Encoding: chunked\r\n'], body: r.chunked } : r.body;
    const lines = [...r.headers, ...framing.headers];
    lines.splice(r.hostAt % (lines.length + 1), 0, 'Host: a.example\r\n');
    return `${r.method} ${r.target} ${r.version}\r\n${lines.join('')}\r\n${framing.body}`;
  });

/** One request, well-formed or (more often) with borderline and hostile parts: request line, headers in any order, body. */
export const requestText: fc.Arbitrary<string> = fc.oneof({ weight: 2, arbitrary: cleanRequestText }, { weight: 3, arbitrary: hostileRequestText() });

function hostileRequestText(): fc.Arbitrary<string> {
  return fc
    .record({
      leading: usually(fc.constant(''), fc.constantFrom('\r\n', '\n', ' ')),
      method: usually(fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), fc.constantFrom('CONNECT', 'get', 'BREW', 'TRACE', 'PROPFIND', 'G\0ET', '', 'GET ', 'PRI')),
      target: usually(fc.constantFrom('/', '/a', '/a/b?c=d&e', '/%7e', '/a;b', "/!$&'()*+,=:@~", '/?', '//x'), fc.constantFrom('*', 'http://a.example/x', 'a.example:443', '/a#b', '/a b', '/\x01', '/\x7f', '/caf\xe9', '', '/a\tb', '/\x00')),
      version: usually(fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'), fc.constantFrom('HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1', 'HTTP/1.10', '', 'HTTP/0.9')),
      lineEol: eol,
      host: usually(fc.constant('Host: a.example\r\n'), fc.constant('')),
      headers: fc.array(headerLine, { maxLength: 5 }),
      hostAt: fc.nat(),
      framing: requestBody,
      bulk,
      endEol: eol,
    })
    .map((r) => {
      const lines = [...r.headers, ...r.framing.headers, r.bulk];
      lines.splice(r.hostAt % (lines.length + 1), 0, r.host);
      return `${r.leading}${r.method} ${r.target} ${r.version}${r.lineEol}${lines.join('')}${r.endEol}${r.framing.body}`;
    });
}

/** One to three pipelined requests, sometimes followed by garbage or a truncated request. */
export const requestStream: fc.Arbitrary<string> = fc
  .tuple(fc.array(requestText, { minLength: 1, maxLength: 3 }), usually(fc.constant(''), fc.oneof(anyBytes(20), requestText.map((t) => t.slice(0, Math.ceil(t.length / 2))))))
  .map(([requests, tail]) => requests.join('') + tail);

const statusCode = usually(fc.constantFrom(200, 200, 201, 204, 206, 301, 304, 404, 500), fc.constantFrom(100, 101, 102, 103, 199, 599, 600, 99, 0));

const responseBody: fc.Arbitrary<{ headers: string[]; body: string }> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(anyBytes(30), usually(fc.constant(0), fc.constantFrom(-2, -1, 1, 3))).map(([body, skew]) => ({ headers: [`Content-Length: ${body.length + skew}\r\n`], body })) },
  { weight: 4, arbitrary: chunkedBody.map((body) => ({ headers: ['Transfer-Encoding: chunked\r\n'], body })) },
  { weight: 2, arbitrary: anyBytes(30).map((body) => ({ headers: [], body })) },
  { weight: 1, arbitrary: chunkedBody.map((body) => ({ headers: ['Transfer-Encoding: chunked\r\n', `Content-Length: ${body.length}\r\n`], body })) },
);

const interimHead = fc.constantFrom('HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n', 'HTTP/1.1 102 Processing\r\n\r\n');

/** A well-formed response (maybe after interim 1xx heads) with either framing or none. */
const cleanResponseStream: fc.Arbitrary<{ text: string; method: string }> = fc
  .record({
    method: usually(fc.constantFrom('GET', 'POST'), fc.constant('HEAD'), 5),
    interim: usually(fc.constant([] as string[]), fc.array(interimHead, { minLength: 1, maxLength: 2 }), 5),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'),
    status: fc.constantFrom(200, 200, 201, 204, 206, 301, 304, 404, 500),
    reason: fc.constantFrom(' OK', ' Not Found', ' ', ''),
    headers: fc.array(cleanHeaderLine, { maxLength: 5 }),
    body: fc.oneof(
      anyBytes(30).map((body) => ({ headers: [`Content-Length: ${body.length}\r\n`], body })),
      cleanChunkedBody.map((body) => ({ headers: ['Transfer-Encoding: chunked\r\n'], body })),
      anyBytes(30).map((body) => ({ headers: [] as string[], body })),
    ),
  })
  .map((r) => ({
    method: r.method,
    text: `${r.interim.join('')}${r.version} ${r.status}${r.reason}\r\n${[...r.headers, ...r.body.headers].join('')}\r\n${r.body.body}`,
  }));

/** One response, well-formed or (more often) not; sometimes followed by more bytes the backend should not have sent. */
export const responseStream: fc.Arbitrary<{ text: string; method: string }> = fc.oneof({ weight: 2, arbitrary: cleanResponseStream }, { weight: 3, arbitrary: hostileResponseStream() });

function hostileResponseStream(): fc.Arbitrary<{ text: string; method: string }> {
  return fc
    .record({
      method: usually(fc.constantFrom('GET', 'POST'), fc.constant('HEAD'), 5),
      interim: usually(fc.constant([] as string[]), fc.array(interimHead, { minLength: 1, maxLength: 2 }), 5),
      version: usually(fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'), fc.constantFrom('HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1', '')),
      status: statusCode,
      reason: usually(fc.constantFrom(' OK', ' Not Found', ' ', ''), fc.constantFrom('  OK', ' O\x01K', ' O\0K', '\tOK', ' caf\xe9', 'OK')),
      statusPad: usually(fc.constant(''), fc.constantFrom(' ', '0', 'x')),
      lineEol: eol,
      headers: fc.array(headerLine, { maxLength: 5 }),
      framing: responseBody,
      bulk,
      endEol: eol,
      trailing: usually(fc.constant(''), fc.oneof(anyBytes(20), fc.constant('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')), 4),
    })
    .map((r) => ({
      method: r.method,
      text: `${r.interim.join('')}${r.version} ${r.statusPad}${String(r.status).padStart(3, '0')}${r.reason}${r.lineEol}${[...r.headers, ...r.framing.headers, r.bulk].join('')}${r.endEol}${r.framing.body}${r.trailing}`,
    }));
}
