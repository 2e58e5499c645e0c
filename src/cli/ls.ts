import type { Command } from 'commander';
import { loadEtcdConfig } from '../config/serve-config.ts';
import { ETCD_SETTINGS } from '../config/settings.ts';
import type { DeploymentSummary } from '../registration/deployment-summary.ts';
import { formatAge, summarizeDeployments } from '../registration/deployment-summary.ts';
import { parseIsoTime } from '../registry/iso-time.ts';
import { deploymentState } from '../sleep/deployment-state.ts';
import { runWithEtcd } from './etcd-command.ts';
import { addSettingOptions, settingValues } from './settings-options.ts';

export function registerLs(program: Command): void {
  const command = program
    .command('ls')
    .description('List deployments: name, git branch, created/age, last visit, state (awake, asleep, waking) and services with their targets.')
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
  const registered = new Set(d.services.map((s) => s.service));
  // A sleeping deployment's services have no keys; its record lists them, and their URLs wake it.
  const sleeping = (d.sleep?.services ?? []).filter((s) => !registered.has(s)).map((name) => ({ name, target: null, ip: null, port: null, leased: false }));
  return {
    name: d.deployment,
    branch: d.branch ?? null,
    created: d.created ?? null,
    lastVisited: d.lastRequest ?? null,
    /** As registered: null when the deployment names none (then the proxy's DEFAULT_SERVICE opens). */
    defaultService: d.default ?? null,
    state: deploymentState({ name: d.deployment, sleep: d.sleep }),
    /** When it entered that state; null while awake. */
    stateSince: d.sleep?.since ?? null,
    lastWake: d.lastWake ? { ms: d.lastWake.ms ?? null, at: d.lastWake.at, error: d.lastWake.error ?? null } : null,
    services: [
      ...d.services.map((s) => ({ name: s.service, target: s.target ?? null, ip: s.ip ?? null, port: s.port ?? null, leased: s.leased })),
      ...sleeping,
    ].sort((a, b) => a.name.localeCompare(b.name)),
  };
}

function table(deployments: readonly DeploymentSummary[], now: number, prefix: string): string {
  if (deployments.length === 0) return `no deployments under ${prefix}\n`;
  const rows = [
    ['DEPLOYMENT', 'BRANCH', 'CREATED', 'AGE', 'LAST VISITED', 'STATE', 'SERVICES'],
    ...deployments.map((d) => {
      const created = parseIsoTime(d.created);
      const visited = parseIsoTime(d.lastRequest);
      return [
        d.deployment,
        d.branch ?? '-',
        d.created ?? '-',
        created === undefined ? '-' : formatAge(now - created),
        visited === undefined ? 'never' : `${formatAge(now - visited)} ago`,
        stateCell(d, now),
        d.services.length === 0
          ? d.sleep && d.sleep.services.length > 0
            ? d.sleep.services.map((s) => `${s}${s === (d.sleep?.defaultService ?? d.default) ? '*' : ''}`).join(', ')
            : '(none running)'
          : d.services.map((s) => `${s.service}${s.service === d.default ? '*' : ''} ${s.target ?? '(incomplete)'}`).join(', '),
      ];
    }),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
  return `${lines.join('\n')}\n${deployments.some((d) => d.default ?? d.sleep?.defaultService) ? '(* opened by <deployment>.<domain>)\n' : ''}`;
}

/** `awake`, or `asleep 3h` / `waking 20s` / `sleeping 5s`: the state and how long it has lasted. */
function stateCell(d: DeploymentSummary, now: number): string {
  if (!d.sleep) return 'awake';
  const since = parseIsoTime(d.sleep.since);
  return since === undefined ? d.sleep.state : `${d.sleep.state} ${formatAge(now - since)}`;
}
