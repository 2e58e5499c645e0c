import { fetchMetadata, MetadataError } from './metadata-http.ts';

/** The parts of an ECS task metadata v4 `/task` answer this uses. */
interface EcsTask {
  readonly Containers?: readonly {
    readonly Name?: string;
    readonly Ports?: readonly { readonly ContainerPort?: number; readonly HostPort?: number; readonly Protocol?: string }[];
    readonly Networks?: readonly { readonly NetworkMode?: string }[];
  }[];
}

/**
 * The host port that ECS mapped to `containerPort`, from the task metadata
 * endpoint v4 (`$ECS_CONTAINER_METADATA_URI_V4/task`). In `awsvpc` and `host`
 * network modes there is no mapping: the container port is the port.
 */
export async function ecsHostPort(metadataUri: string | undefined, containerPort: number): Promise<number> {
  if (!metadataUri) throw new MetadataError('ECS_CONTAINER_METADATA_URI_V4 is not set: --port-from ecs only works inside an ECS task (agent 1.39 or later)');
  const url = `${metadataUri.replace(/\/+$/, '')}/task`;
  let task: EcsTask;
  try {
    task = JSON.parse(await fetchMetadata(url)) as EcsTask;
  } catch (err) {
    if (err instanceof MetadataError) throw err;
    throw new MetadataError(`ECS task metadata at ${url} is not JSON`);
  }
  const containers = task.Containers ?? [];
  for (const container of containers) {
    const mapping = container.Ports?.find((p) => p.ContainerPort === containerPort && (p.Protocol ?? 'tcp') === 'tcp' && p.HostPort);
    if (mapping?.HostPort) return mapping.HostPort;
  }
  const modes = new Set(containers.flatMap((c) => (c.Networks ?? []).map((n) => n.NetworkMode)));
  if (modes.has('awsvpc') || modes.has('host')) return containerPort;
  throw new MetadataError(`ECS task metadata at ${url} maps no host port to container port ${containerPort}/tcp`);
}
