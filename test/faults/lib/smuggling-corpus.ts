/**
 * The HTTP request smuggling corpus as raw request streams (the same cases as the smuggling test
 * in test/faults/clients.test.ts). Every `rejected` case is one Node answers with 400; in
 * `lateBreaks` the head is valid and the chunked body turns invalid after it.
 */
export function smugglingCorpus(host: string): { rejected: Record<string, string>; lateBreaks: Record<string, string> } {
  const H = `Host: ${host}\r\n`;
  const smuggled = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;
  return {
    rejected: {
      'Content-Length + Transfer-Encoding': `POST /echo HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      'Transfer-Encoding + Content-Length': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
      'two different Content-Lengths': `POST /echo HTTP/1.1\r\n${H}Content-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      'Content-Length list': `POST /echo HTTP/1.1\r\n${H}Content-Length: 0, ${smuggled.length}\r\n\r\n${smuggled}`,
      'obs-fold hiding chunked': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
      'obs-fold': `GET /echo HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n`,
      'space before colon': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
      'Transfer-Encoding: xchunked': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
      'chunked, identity': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled}`,
      'two Transfer-Encodings': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${smuggled}`,
      'bare LF line ends': `POST /echo HTTP/1.1\n${H.trim()}\nContent-Length: 4\nTransfer-Encoding: chunked\n\n0\n\n${smuggled}`,
      'NUL in a header': `GET /echo HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`,
      'HTTP/1.0 with both lengths': `POST /echo HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${smuggled}`,
    },
    lateBreaks: {
      'LF after a chunk extension': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;x\nabc\r\n0\r\n\r\n${smuggled}`,
      'invalid chunk size': `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n${smuggled}`,
    },
  };
}
