/**
 * Differential tests of the fast path's framing (issue #16) against Node's own llhttp, run for
 * real: for every generated request stream, the fast path either frames each request exactly as
 * node:http parses it (method, target, raw headers, body bytes, trailers, where the next request
 * starts) or hands the connection over, and then node:http on its own must see the rest of the
 * stream as it saw it in the whole stream. It never frames a request Node rejects. The same for
 * response framing against node:http's client. FASTPATH_DIFF_RUNS sets the number of streams.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChunkedScanner } from '../../src/fastpath/chunked.ts';
import { parseRequestHead } from '../../src/fastpath/request-head.ts';
import { parseResponseHead } from '../../src/fastpath/response-head.ts';
import { createFigures } from './lib/figures.ts';
import { frameRequests, frameResponse } from './lib/fastpath-simulation.ts';
import { NODE_MAX_HEADER_SIZE, requestStream, responseStream } from './lib/http-stream-arbitraries.ts';
import type { ParsedRequest, RequestOracle, ResponseOracle } from './lib/llhttp-oracle.ts';
import { startRequestOracle, startResponseOracle } from './lib/llhttp-oracle.ts';
import { describeTally, tally } from './lib/process.ts';
import { smugglingCorpus } from './lib/smuggling-corpus.ts';

const figures = createFigures(import.meta.filename);
const RUNS = Number(process.env.FASTPATH_DIFF_RUNS ?? 2000);
/** The fast path's head limit in these tests: Node's own, so the edge where both limits meet is exercised. */
const MAX_HEAD = NODE_MAX_HEADER_SIZE;
/** Streams longer than this are checked at sampled split points instead of every one. */
const EVERY_SPLIT_UP_TO = 2048;

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Checks one request stream against Node; returns how the fast path fared, for the figures. */
async function checkRequestStream(oracle: RequestOracle, buf: Buffer): Promise<string> {
  const { requests, handoverAt } = frameRequests(buf, MAX_HEAD);
  const node = await oracle.parse(buf);
  const context = (): string => `stream ${JSON.stringify(buf.toString('latin1').slice(0, 600))}\nNode: ${JSON.stringify(node).slice(0, 600)}`;
  requests.forEach(({ head, body }, i) => {
    const parsed = node.requests[i];
    assert.ok(parsed, `the fast path framed request ${i}, Node parsed only ${node.requests.length} (llhttp error ${node.parseError})\n${context()}`);
    assert.deepEqual(
      { method: head.method, url: head.target, httpVersion: `1.${head.versionMinor}`, rawHeaders: head.headers },
      { method: parsed.method, url: parsed.url, httpVersion: parsed.httpVersion, rawHeaders: parsed.rawHeaders },
      `request ${i} head\n${context()}`,
    );
    if (body.state === 'complete') {
      assert.ok(parsed.complete, `the fast path found request ${i}'s whole body, Node did not\n${context()}`);
      assert.deepEqual({ body: body.body, rawTrailers: body.rawTrailers }, { body: parsed.body, rawTrailers: parsed.rawTrailers }, `request ${i} body\n${context()}`);
    }
    if (body.state === 'truncated') assert.equal(parsed.complete, false, `the stream ends inside request ${i}'s body for the fast path, Node completed it\n${context()}`);
    if (head.keepAlive) assert.equal(node.keepAlive[i], true, `the fast path keeps the connection after request ${i}, Node would not\n${context()}`);
  });
  if (handoverAt !== undefined && handoverAt > 0) {
    // Handed over mid-stream: node:http alone must see the rest as it did in the whole stream.
    const rest = await oracle.parse(buf.subarray(handoverAt));
    assert.deepEqual(project(rest.requests), project(node.requests.slice(requests.length)), `after the handover at ${handoverAt}\n${context()}`);
    assert.equal(rest.parseError, node.parseError, `llhttp's verdict after the handover at ${handoverAt}\n${context()}`);
    assert.equal(rest.tunnel, node.tunnel, `upgrade or CONNECT after the handover at ${handoverAt}\n${context()}`);
  }
  return `${requests.length} framed, ${handoverAt === undefined ? 'kept' : 'handed over'}`;
}

const project = (requests: ParsedRequest[]): ParsedRequest[] => requests.map((r) => ({ ...r }));

/** Incremental parsing: a head is incomplete until its last byte, then the same as parsed whole; a handover never turns back. */
function checkRequestSplits(buf: Buffer, splits: number[]): void {
  const { requests, handoverAt } = frameRequests(buf, MAX_HEAD);
  let start = 0;
  for (const { head, body } of requests) {
    const whole = parseRequestHead(buf, start, MAX_HEAD);
    for (const k of points(start, head.headEnd, splits)) assert.equal(parseRequestHead(buf.subarray(0, k), start, MAX_HEAD).kind, 'incomplete', `prefix ${k} of the head at ${start}`);
    assert.deepEqual(parseRequestHead(buf.subarray(0, head.headEnd), start, MAX_HEAD), whole, 'the head alone parses as with the rest of the stream after it');
    checkChunkedSplits(buf, head.headEnd, head.body, splits);
    if (body.state !== 'complete') return;
    start = body.end;
  }
  if (handoverAt === undefined) return;
  let handedOver = false;
  for (const k of [...points(handoverAt, buf.length, splits), buf.length]) {
    const kind: string = parseRequestHead(buf.subarray(0, k), handoverAt, MAX_HEAD).kind;
    assert.ok(kind === 'incomplete' || kind === 'handover', `prefix ${k}: ${kind} where the whole stream is handed over`);
    if (handedOver) assert.equal(kind, 'handover', `prefix ${k}: a handover turned back into ${kind}`);
    handedOver ||= kind === 'handover';
  }
}

/** A chunked body scanned in pieces ends (or fails) exactly as scanned in one go. */
function checkChunkedSplits(buf: Buffer, start: number, framing: number | 'chunked', splits: number[]): void {
  if (framing !== 'chunked') return;
  const whole = new ChunkedScanner().scan(buf, start);
  const scanner = new ChunkedScanner();
  let offset = start;
  let result: ReturnType<ChunkedScanner['scan']> = { consumed: 0, done: false };
  for (const cut of [...points(start, buf.length, splits), buf.length]) {
    if (cut <= offset) continue;
    result = scanner.scan(buf.subarray(0, cut), offset);
    if ('error' in result || result.done) break;
    offset = cut;
  }
  if ('error' in whole) assert.ok('error' in result, `scanned whole: ${whole.error}; in pieces: ${JSON.stringify(result)}`);
  else if (whole.done) assert.ok(!('error' in result) && result.done && offset + result.consumed === start + whole.consumed, 'in pieces the body ends where it ends scanned whole');
  else assert.ok(!('error' in result) && !result.done, 'in pieces the body is unfinished as scanned whole');
}

/** Every offset in [from, to) for short ranges, else the given random ones that fall in it plus both ends. */
function points(from: number, to: number, splits: number[]): number[] {
  if (to - from <= EVERY_SPLIT_UP_TO) return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
  return [from, to - 1, ...splits.map((s) => from + (s % (to - from)))].sort((a, b) => a - b);
}

async function checkResponseStream(oracle: ResponseOracle, buf: Buffer, method: string): Promise<string> {
  const ours = frameResponse(buf, MAX_HEAD, method);
  if (typeof ours === 'string') return ours;
  const node = await oracle.parse(buf, method);
  const context = `${method} answered with ${JSON.stringify(buf.toString('latin1').slice(0, 600))}\nNode: ${JSON.stringify(node).slice(0, 600)}`;
  assert.ok(node.statusCode !== undefined, `the fast path took a response Node rejected (${node.error})\n${context}`);
  assert.deepEqual(
    { interim: ours.interim, statusCode: ours.head.statusCode, httpVersion: `1.${ours.head.versionMinor}`, rawHeaders: ours.head.headers },
    { interim: node.interim, statusCode: node.statusCode, httpVersion: node.httpVersion, rawHeaders: node.rawHeaders },
    context,
  );
  if (ours.body.state === 'complete') {
    assert.ok(node.complete, `the fast path found the whole body, Node did not\n${context}`);
    assert.equal(ours.body.body, node.body, `response body\n${context}`);
  }
  if (ours.body.state === 'truncated') assert.equal(node.complete, false, `the body is cut short for the fast path, Node completed it\n${context}`);
  return `${ours.head.framing.kind}, body ${ours.body.state}`;
}

function checkResponseSplits(buf: Buffer, method: string, splits: number[]): void {
  let start = 0;
  for (;;) {
    const whole = parseResponseHead(buf, start, MAX_HEAD, method);
    if (whole.kind !== 'response') return;
    const { headEnd } = whole.head;
    for (const k of points(start, headEnd, splits)) assert.equal(parseResponseHead(buf.subarray(0, k), start, MAX_HEAD, method).kind, 'incomplete', `prefix ${k} of the head at ${start}`);
    assert.deepEqual(parseResponseHead(buf.subarray(0, headEnd), start, MAX_HEAD, method), whole);
    if (whole.head.statusCode >= 200) {
      if (whole.head.framing.kind === 'chunked') checkChunkedSplits(buf, headEnd, 'chunked', splits);
      return;
    }
    start = headEnd;
  }
}

const splitPoints = fc.array(fc.nat(), { minLength: 8, maxLength: 32 });

describe('fast path framing against node:http (llhttp), differential', () => {
  let requests: RequestOracle;
  let responses: ResponseOracle;
  before(async () => {
    requests = await startRequestOracle();
    responses = await startResponseOracle();
  });
  after(async () => {
    await requests?.close();
    await responses?.close();
    figures.finish();
  });

  test('request streams: each request is framed exactly as Node parses it, or handed over; never one Node rejects', async (t: TestContext) => {
    const outcomes: string[] = [];
    await fc.assert(
      fc.asyncProperty(requestStream, async (text) => void outcomes.push(await checkRequestStream(requests, latin1(text)))),
      { numRuns: RUNS },
    );
    figures.record(t, `request streams against node:http (${RUNS})`, 'outcomes', describeTally(tally(outcomes)));
    assert.ok(outcomes.some((o) => !o.startsWith('0 framed')), 'some streams are framed by the fast path');
    assert.ok(outcomes.some((o) => o.endsWith('handed over')), 'some streams are handed over');
  });

  test('request streams split anywhere: incomplete until the head is whole, then the same result', () => {
    fc.assert(fc.property(requestStream, splitPoints, (text, splits) => checkRequestSplits(latin1(text), splits)), { numRuns: RUNS });
  });

  test('response streams: framed exactly as node:http’s client parses them, or invalid; never one Node rejects', async (t: TestContext) => {
    const outcomes: string[] = [];
    await fc.assert(
      fc.asyncProperty(responseStream, async ({ text, method }) => void outcomes.push(await checkResponseStream(responses, latin1(text), method))),
      { numRuns: RUNS },
    );
    figures.record(t, `response streams against node:http's client (${RUNS})`, 'outcomes', describeTally(tally(outcomes)));
    assert.ok(outcomes.some((o) => o.includes('complete')), 'some responses are framed');
  });

  test('response streams split anywhere: incomplete until the head is whole, then the same result', () => {
    fc.assert(fc.property(responseStream, splitPoints, ({ text, method }, splits) => checkResponseSplits(latin1(text), method, splits)), { numRuns: RUNS });
  });

  test('the request smuggling corpus: every case is handed over before anything is forwarded, and agrees with Node', async (t: TestContext) => {
    const { rejected, lateBreaks } = smugglingCorpus('main-web.example.test');
    for (const [name, text] of Object.entries(rejected)) {
      const r = parseRequestHead(latin1(text), 0, MAX_HEAD);
      assert.equal(r.kind, 'handover', `${name}: ${JSON.stringify(r)}`);
      await checkRequestStream(requests, latin1(text));
    }
    for (const [name, text] of Object.entries(lateBreaks)) {
      const { requests: framed, handoverAt } = frameRequests(latin1(text), MAX_HEAD);
      assert.equal(framed.length, 1, name);
      assert.equal(framed[0]!.body.state, 'error', `${name}: the chunked scanner stops at the broken body`);
      assert.equal(handoverAt, undefined, `${name}: nothing after the broken body is parsed`);
      await checkRequestStream(requests, latin1(text));
    }
    figures.record(t, 'request smuggling corpus', 'handed over / stopped at the body', `${Object.keys(rejected).length} / ${Object.keys(lateBreaks).length}`);
  });
});
