import type { Command } from 'commander';
import { loadEtcdConfig } from '../config/serve-config.ts';
import { ETCD_SETTINGS } from '../config/settings.ts';
import type { DeploymentSummary } from '../registration/deployment-summary.ts';
import { formatAge, summarizeDeployments } from '../registration/deployment-summary.ts';
import { parseIsoTime } from '../registry/iso-time.ts';
import { runWithEtcd } from './etcd-command.ts';
import { addSettingOptions, settingValues } from './settings-options.ts';

export function registerLs(program: Command): void {
  const command = program
    .command('ls')
    .description('List deployments: name, git branch, created/age, last visit and services with their targets.')
    .option('--json', 'print a JSON array instead of a table');
  addSettingOptions(command, ETCD_SETTINGS).action(async () => {
    const etcd = loadEtcdConfig(settingValues(command, ETCD_SETTINGS));
    await runWithEtcd(etcd, async (client) => {
      const res = await client.getAll().prefix(etcd.prefix).exec();
      const deployments = summarizeDeployments(etcd.prefix, res.kvs);
      const json = command.opts<{ json?: boolean }>().json === true;
      process.stdout.write(json ? `${JSON.stringify(deployments.map(toJson), null, 2)}\n` : table(deployments, Date.now(), etcd.prefix));
    });
  });
}

/**
 * `ls --json` uses the HTTP API's field names (see DeploymentView), so a script reads both alike.
 * What etcd does not hold is null, as in the API. `lastVisited` is the time persisted in etcd.
 */
function toJson(d: DeploymentSummary) {
  return {
    name: d.deployment,
    branch: d.branch ?? null,
    created: d.created ?? null,
    lastVisited: d.lastRequest ?? null,
    /** As registered: null when the deployment names none (then the proxy's DEFAULT_SERVICE opens). */
    defaultService: d.default ?? null,
    services: d.services.map((s) => ({ name: s.service, target: s.target ?? null, ip: s.ip ?? null, port: s.port ?? null, leased: s.leased })),
  };
}

function table(deployments: readonly DeploymentSummary[], now: number, prefix: string): string {
  if (deployments.length === 0) return `no deployments under ${prefix}\n`;
  const rows = [
    ['DEPLOYMENT', 'BRANCH', 'CREATED', 'AGE', 'LAST VISITED', 'SERVICES'],
    ...deployments.map((d) => {
      const created = parseIsoTime(d.created);
      const visited = parseIsoTime(d.lastRequest);
      return [
        d.deployment,
        d.branch ?? '-',
        d.created ?? '-',
        created === undefined ? '-' : formatAge(now - created),
        visited === undefined ? 'never' : `${formatAge(now - visited)} ago`,
        d.services.length === 0
          ? '(none running)'
          : d.services.map((s) => `${s.service}${s.service === d.default ? '*' : ''} ${s.target ?? '(incomplete)'}`).join(', '),
      ];
    }),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
  return `${lines.join('\n')}\n${deployments.some((d) => d.default) ? '(* opened by <deployment>.<domain>)\n' : ''}`;
}
