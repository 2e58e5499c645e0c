import { isIP } from 'node:net';
import { fetchMetadata, MetadataError } from './metadata-http.ts';

/** The instance metadata service; `EC2_METADATA_URL` overrides it (tests, or IPv6-only instances: http://[fd00:ec2::254]). */
export const EC2_METADATA_DEFAULT_URL = 'http://169.254.169.254';

/**
 * The EC2 instance's private IPv4 address, through IMDSv2: a session token
 * from `PUT /latest/api/token`, then `GET /latest/meta-data/local-ipv4` with it.
 * IMDSv1 (no token) is not used: many accounts switch it off.
 */
export async function ec2PrivateIp(baseUrl: string = EC2_METADATA_DEFAULT_URL): Promise<string> {
  const base = baseUrl.replace(/\/+$/, '');
  const token = await fetchMetadata(`${base}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } });
  const ip = (await fetchMetadata(`${base}/latest/meta-data/local-ipv4`, { headers: { 'X-aws-ec2-metadata-token': token.trim() } })).trim();
  if (isIP(ip) !== 4) throw new MetadataError(`EC2 metadata at ${base} gave ${JSON.stringify(ip)} as local-ipv4, not an IPv4 address`);
  return ip;
}
