import { Etcd3, isRecoverableError } from 'etcd3';
import { ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import type { EtcdConfig } from '../config/serve-config.ts';

export interface EtcdClientOptions {
  /** Deadline of each unary call; streams (watches, lease keep-alives) have none. */
  readonly callTimeoutMs?: number;
}

/**
 * The one way this project talks to etcd, shared by `serve` and the CLI.
 * - gRPC keepalive pings notice a half-open TCP connection (a peer that vanished
 *   or was paused) within ~15 s, instead of never.
 * - Every unary call has a deadline, so nothing waits forever on a dead member
 *   and the pool moves on to another endpoint.
 * - A failing endpoint is skipped for 1 s, not etcd3's default 5 s, so a
 *   returning etcd is used again quickly.
 */
export function createEtcdClient(config: EtcdConfig, options: EtcdClientOptions = {}): Etcd3 {
  const callTimeoutMs = options.callTimeoutMs ?? 5000;
  const { tls, auth } = config;
  return new Etcd3({
    hosts: [...config.endpoints],
    ...(tls ? { credentials: { rootCertificate: tls.ca!, privateKey: tls.key, certChain: tls.cert } } : {}),
    ...(auth ? { auth: { ...auth, callOptions: () => ({ deadline: Date.now() + callTimeoutMs }) } } : {}),
    dialTimeout: callTimeoutMs,
    grpcOptions: {
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      // A 100,000-service snapshot is ~19 MB; pages stay well below this, but a
      // single large page must not fail on gRPC's 4 MB default.
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
    },
  });
}
