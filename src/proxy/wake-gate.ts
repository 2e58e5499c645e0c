import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { SleepConfig } from '../config/sleep-config.ts';
import type { Resolution } from '../routing/route-types.ts';
import type { WakeState, Waker } from '../sleep/waker.ts';
import { WAITING_PAGE_CSP, WAKE_PATH, renderWaitingPage } from '../web/waiting-page.ts';
import type { WakeObserver } from '../metrics/wake-observer.ts';
import { responseFinished } from './response-finished.ts';

type Asleep = Extract<Resolution, { kind: 'asleep' }>;

/**
 * Forwards a held request once its deployment is awake: back through the normal route, with the body read
 * while it waited. The normal path logs and counts it then, with `wake: "held"` and its time from arrival.
 */
export type Release = (body: Buffer | undefined) => void;

/**
 * How the wake gate answered a request, the `wake` field of its access-log line (docs/sleep.md):
 * - `page`: a browser got the waiting page (503);
 * - `events`: the waiting page's live feed (200, logged when it closes);
 * - `retry`: the waiting page's Retry (202, or 303 back to the page);
 * - `held`: held, then forwarded by the normal path (which logs it), or the client gave up while held (`aborted`);
 * - `timeout`: held for WAKE_HOLD, then 503;
 * - `failed`: held, the wake failed: 503;
 * - `too-large`: a body over WAKE_HOLD_MAX_BODY: 503 at once;
 * - `ignored`: a user agent in WAKE_IGNORE_USER_AGENTS: 503, no wake;
 * - `websocket`: a WebSocket upgrade: 503 (the wake starts);
 * - `shutdown`: held while the proxy stopped: 503.
 */
export type WakeAnswer = 'page' | 'events' | 'retry' | 'held' | 'timeout' | 'failed' | 'too-large' | 'ignored' | 'websocket' | 'shutdown';

export interface WakeGate {
  /** A request (past the access gate) whose service is asleep. */
  request(req: IncomingMessage, res: ServerResponse, resolution: Asleep, host: string, release: Release): void;
  /** A WebSocket upgrade to a sleeping service: starts the wake, answers 503 (clients reconnect by themselves). */
  upgrade(req: IncomingMessage, socket: Duplex, resolution: Asleep): void;
  /** Answers every held request and event stream (shutdown). */
  close(): void;
  /** Requests held right now; for tests and metrics. */
  readonly held: number;
}

export interface WakeGateOptions {
  readonly waker: Waker;
  readonly sleep: SleepConfig;
  readonly log: Logger;
  /**
   * Counts held requests, and the requests the gate answered itself (`branch_proxy_requests_total`,
   * under the deployment asked for). Not counted as visits: a visitor's wake is followed by
   * requests that are, and an ignored user agent must not keep a deployment awake.
   */
  readonly observer?: Pick<WakeObserver, 'held'> & { request(deployment: string, service: string, status: number, seconds: number, servedBy?: string): void };
}

/** What the access-log line of one request to a sleeping deployment will say. */
interface Answering {
  wake: WakeAnswer;
  /** Forwarded to the backend: the normal path logs it. */
  released: boolean;
}

/** A held request, or a waiting page's event stream, waiting on one sleeping deployment. */
interface Waiter {
  /** The deployment's state changed: return true once this waiter is done (it is then forgotten). */
  changed(state: WakeState): boolean;
  end(): void;
}

const SSE_HEARTBEAT_MS = 15_000;
/** Waiters released per turn of the event loop (see notify). */
const RELEASE_SLICE = 32;

/**
 * The request path for sleeping deployments (issue #13); the awake path never
 * comes here. Browsers get the waiting page at once, every other request is
 * held (body buffered, bounded) and forwarded once the deployment is awake,
 * ignored user agents get the 503 without waking anything.
 */
export function createWakeGate(o: WakeGateOptions): WakeGate {
  const { waker, log } = o;
  const { wakeHoldMs, wakeHoldMaxBodyBytes: maxBody, ignoreUserAgents } = o.sleep;
  /** Per sleeping deployment (the one that wakes), what waits on it. */
  const waiting = new Map<string, Set<Waiter>>();
  let held = 0;

  waker.on('change', notify);

  /**
   * Tells the deployment's waiters its state. At most RELEASE_SLICE of them finish per
   * turn of the event loop, the rest on the next: a thousand held requests let go at
   * once would stall every other request for the whole burst.
   */
  function notify(deployment: string): void {
    const set = waiting.get(deployment);
    if (!set) return;
    const state = waker.state(deployment);
    let done = 0;
    for (const w of set) {
      if (!w.changed(state)) continue;
      set.delete(w);
      if (++done === RELEASE_SLICE) {
        setImmediate(notify, deployment);
        return;
      }
    }
    if (set.size === 0 && waiting.get(deployment) === set) waiting.delete(deployment);
  }

  function wait(deployment: string, w: Waiter): () => void {
    let set = waiting.get(deployment);
    if (!set) waiting.set(deployment, (set = new Set()));
    set.add(w);
    return () => {
      set.delete(w);
      if (set.size === 0 && waiting.get(deployment) === set) waiting.delete(deployment);
    };
  }

  function startWake(deployment: string): void {
    void waker.wake(deployment);
  }

  function retryAfter(state: WakeState): string {
    const ms = state.state === 'awake' ? undefined : state.lastWakeMs;
    return String(ms === undefined ? 5 : Math.min(30, Math.max(1, Math.ceil(ms / 1000))));
  }

  function sendJson(res: ServerResponse, status: number, body: object, state: WakeState): void {
    if (res.headersSent || res.destroyed) return;
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      'cache-control': 'no-store',
      'retry-after': retryAfter(state),
    });
    res.end(payload);
  }

  function waking(resolution: Asleep, state: WakeState, extra: Record<string, unknown> = {}): object {
    const { sleeper, service } = resolution;
    return {
      error: 'deployment-waking',
      message: `Deployment "${sleeper.name}" is asleep and waking up; retry in a few seconds.`,
      deployment: resolution.deployment.name,
      service,
      state: state.state,
      ...(state.state !== 'awake' ? { since: state.since, lastWakeMs: state.lastWakeMs } : {}),
      ...extra,
    };
  }

  function page(req: IncomingMessage, res: ServerResponse, resolution: Asleep, host: string, state: WakeState): void {
    const html = renderWaitingPage({
      deployment: resolution.sleeper.name,
      host,
      // An asleep deployment starts waking with this visit: its record's time is when it fell asleep.
      since: state.state === 'waking' || (state.state !== 'awake' && state.error !== undefined) ? state.since : new Date().toISOString(),
      lastWakeMs: state.state === 'awake' ? undefined : state.lastWakeMs,
      error: state.state === 'awake' ? undefined : state.error,
    });
    res.writeHead(503, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(html),
      'cache-control': 'no-store',
      'retry-after': retryAfter(state),
      'content-security-policy': WAITING_PAGE_CSP,
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : html);
  }

  /** The waiting page's live feed: the state now and at every change (failures too: a retry may follow), until awake. */
  function events(req: IncomingMessage, res: ServerResponse, deployment: string): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const send = (state: WakeState): boolean => {
      res.write(`data: ${JSON.stringify(state)}\n\n`);
      return state.state === 'awake';
    };
    if (send(waker.state(deployment))) return void res.end();
    const heartbeat = setInterval(() => res.write(': still waking\n\n'), SSE_HEARTBEAT_MS);
    const stop = wait(deployment, {
      changed(state) {
        if (!send(state)) return false;
        done();
        return true;
      },
      end: () => done(),
    });
    function done(): void {
      clearInterval(heartbeat);
      stop();
      res.end();
    }
    res.on('close', done);
  }

  function hold(req: IncomingMessage, res: ServerResponse, resolution: Asleep, release: Release, answering: Answering): void {
    const name = resolution.sleeper.name;
    const length = req.headers['content-length'];
    const hasBody = length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
    if (length !== undefined && Number(length) > maxBody) return tooLarge(req, res, resolution, answering);
    startWake(name);
    held++;
    o.observer?.held(1);
    const chunks: Buffer[] = [];
    let size = 0;
    let bodyDone = !hasBody;
    let awake = false;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      held--;
      o.observer?.held(-1);
      clearTimeout(timer);
      stop();
      res.off('close', onClose);
    };
    const forward = (): void => {
      finish();
      answering.released = true;
      release(hasBody ? Buffer.concat(chunks, size) : undefined);
    };
    const onClose = (): void => finish(); // the client gave up: nothing to answer, nothing left behind
    const timer = setTimeout(() => {
      finish();
      answering.wake = 'timeout';
      req.resume();
      sendJson(res, 503, waking(resolution, waker.state(name), { heldMs: wakeHoldMs }), waker.state(name));
    }, wakeHoldMs);
    const stop = wait(name, {
      changed(state) {
        if (state.state === 'awake') {
          awake = true;
          if (bodyDone) forward();
          return true;
        }
        if (state.error !== undefined) {
          finish();
          answering.wake = 'failed';
          req.resume();
          sendJson(res, 503, waking(resolution, state, { error: 'deployment-wake-failed', reason: state.error }), state);
          return true;
        }
        return false;
      },
      end: () => {
        finish();
        answering.wake = 'shutdown';
        sendJson(res, 503, waking(resolution, waker.state(name)), waker.state(name));
      },
    });
    res.on('close', onClose);
    if (hasBody) {
      req.on('data', (chunk: Buffer) => {
        if (finished) return;
        size += chunk.length;
        if (size > maxBody) {
          finish();
          return tooLarge(req, res, resolution, answering);
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        bodyDone = true;
        if (awake && !finished) forward();
      });
    }
    // Awake already (a change between resolving and here): forward on the next turn.
    if (waker.state(name).state === 'awake') {
      awake = true;
      if (bodyDone) forward();
    }
  }

  /**
   * The access-log line and request metric of an answer the gate gave itself: the fields of the
   * proxy's access log (proxy-handler.ts), plus `wake`, and `fallback` when the sleeping one is a base.
   */
  function answered(req: IncomingMessage, status: number, aborted: boolean, resolution: Asleep, wake: WakeAnswer, start: number): void {
    const elapsedMs = performance.now() - start;
    const { deployment, service, sleeper } = resolution;
    const fallback = sleeper === deployment ? undefined : sleeper.name;
    const proto = req.httpVersionMajor === 2 ? 'h2' : 'http/1.1';
    const ms = Math.round(elapsedMs * 10) / 10;
    log.info({ host: req.headers.host, deployment: deployment.name, service, fallback, method: req.method, path: req.url, proto, status, wake, ...(aborted ? { aborted } : {}), ms }, 'request');
    o.observer?.request(deployment.name, service, status, elapsedMs / 1000, fallback);
  }

  function tooLarge(req: IncomingMessage, res: ServerResponse, resolution: Asleep, answering: Answering): void {
    answering.wake = 'too-large';
    const state = waker.state(resolution.sleeper.name);
    // The unread body is not worth reading: answer and close the connection.
    res.shouldKeepAlive = false;
    sendJson(res, 503, waking(resolution, state, { reason: `the request body is larger than WAKE_HOLD_MAX_BODY (${maxBody} bytes), so it cannot be held while the deployment wakes; retry once it is awake` }), state);
    req.resume();
  }

  return {
    request(req, res, resolution, host, release) {
      const start = performance.now();
      const answering: Answering = { wake: 'held', released: false };
      res.once('close', () => {
        if (!answering.released) answered(req, res.statusCode, !responseFinished(res), resolution, answering.wake, start);
      });
      const name = resolution.sleeper.name;
      const state = waker.state(name);
      const ua = req.headers['user-agent'];
      if (ignoreUserAgents !== undefined && ua !== undefined && ignoreUserAgents.test(ua)) {
        answering.wake = 'ignored';
        sendJson(res, 503, waking(resolution, state, { message: `Deployment "${name}" is asleep; this user agent does not wake it.` }), state);
        return;
      }
      const path = req.url ?? '/';
      if (path === WAKE_PATH || path.startsWith(`${WAKE_PATH}?`)) {
        if (req.method === 'POST') {
          answering.wake = 'retry';
          startWake(name);
          // The page's form without script: back to the page, which follows the wake.
          if ((req.headers.accept ?? '').includes('text/html')) {
            res.writeHead(303, { location: '/', 'cache-control': 'no-store', 'content-length': 0 });
            res.end();
          } else sendJson(res, 202, { deployment: name, ...state }, state);
          return;
        }
        answering.wake = 'events';
        return events(req, res, name);
      }
      if ((req.method === 'GET' || req.method === 'HEAD') && (req.headers.accept ?? '').includes('text/html')) {
        // After a failed wake, the page offers a retry rather than running a failing hook on every visit.
        if (state.state === 'awake' || state.error === undefined) startWake(name);
        answering.wake = 'page';
        page(req, res, resolution, host, state);
        return;
      }
      hold(req, res, resolution, release, answering);
    },
    upgrade(req, socket, resolution) {
      const start = performance.now();
      const name = resolution.sleeper.name;
      const ua = req.headers['user-agent'];
      if (!(ignoreUserAgents !== undefined && ua !== undefined && ignoreUserAgents.test(ua))) startWake(name);
      const state = waker.state(name);
      const body = JSON.stringify(waking(resolution, state));
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nRetry-After: ${retryAfter(state)}\r\n` +
          `Cache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      answered(req, 503, false, resolution, 'websocket', start);
    },
    close() {
      for (const set of waiting.values()) for (const w of set) w.end();
      waiting.clear();
    },
    get held() {
      return held;
    },
  };
}
