import type { Etcd3 } from 'etcd3';
import type { EtcdConfig } from '../config/serve-config.ts';

export interface EtcdClientOptions {
  /** Deadline of each unary call; streams (watches, lease keep-alives) have none. */
  readonly callTimeoutMs?: number;
}

/**
 * The one way this project talks to etcd, shared by `serve` and the CLI.
 * - gRPC keepalive pings notice a half-open TCP connection (a peer that vanished
 *   or was paused with SIGSTOP) within 6 + 3 s, instead of never. Pings go only
 *   while a call is open (the watch): etcd's default enforcement (min 5 s,
 *   PermitWithoutStream=false) answers pings on idle connections with GOAWAY
 *   "too_many_pings", and grpc-js then doubles the interval for good
 *   (test/faults/etcd-cluster.test.ts measured 13 s to notice before, and a
 *   20 s interval after the GOAWAYs).
 * - Every unary call has a deadline, so nothing waits forever on a dead member
 *   and the pool moves on to another endpoint.
 * - A failing endpoint is skipped for 1 s after one failure, not etcd3's
 *   default of three failures and 5 s: a paused member costs a full deadline
 *   per failure, so after the watch on it fails, the snapshot reload must go to
 *   another member at once; a returning etcd is used again quickly.
 * etcd3 (with gRPC and its protocol definitions, 25 MB of heap and 150 ms to load) is loaded
 * here, on first use, not at start-up: a cluster worker needs it only to wake a deployment.
 */
export async function createEtcdClient(config: EtcdConfig, options: EtcdClientOptions = {}): Promise<Etcd3> {
  const [{ Etcd3, isRecoverableError }, { ConsecutiveBreaker, circuitBreaker, handleWhen }] = await Promise.all([import('etcd3'), import('cockatiel')]);
  const callTimeoutMs = options.callTimeoutMs ?? 5000;
  const { tls, auth } = config;
  return new Etcd3({
    hosts: [...config.endpoints],
    ...(tls ? { credentials: { rootCertificate: tls.ca!, privateKey: tls.key, certChain: tls.cert } } : {}),
    ...(auth ? { auth: { ...auth, callOptions: () => ({ deadline: Date.now() + callTimeoutMs }) } } : {}),
    dialTimeout: callTimeoutMs,
    grpcOptions: {
      'grpc.keepalive_time_ms': 6_000,
      'grpc.keepalive_timeout_ms': 3_000,
      // grpc-js backs off reconnects up to 120 s by default; a returning etcd should be used within seconds.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
      // A 100,000-service snapshot is ~19 MB; pages stay well below this, but a
      // single large page must not fail on gRPC's 4 MB default.
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(1) }),
    },
  });
}
