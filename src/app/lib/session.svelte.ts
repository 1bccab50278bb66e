// Owns the effects of a tab: the engine worker and the libp2p node. Components read `snapshot`.
import type { Libp2p } from 'libp2p';
import { EngineWorkerClient } from '../../worker/client.ts';
import type { GpuProbe } from '../../worker/protocol.ts';
import { createSwarmNode } from '../../swarm/node.ts';
import { parseSwarmConfig, type SwarmConfig } from '../../swarm/config.ts';

export interface SessionSnapshot {
  phase: 'starting' | 'ready' | 'error';
  gpu: GpuProbe | null;
  peerId: string | null;
  relayConnected: boolean;
  swarm: SwarmConfig | null;
  error: string | null;
}

async function loadSwarmConfig(): Promise<SwarmConfig> {
  const fromUrl = new URLSearchParams(location.search).get('swarm');
  if (fromUrl) return parseSwarmConfig(JSON.parse(atob(fromUrl.replace(/-/g, '+').replace(/_/g, '/'))));
  const res = await fetch('./swarm.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`no swarm config: ./swarm.json answered ${res.status} (start the app with npm start)`);
  return parseSwarmConfig(await res.json());
}

export class Session {
  snapshot = $state.raw<SessionSnapshot>({ phase: 'starting', gpu: null, peerId: null, relayConnected: false, swarm: null, error: null });
  private worker: EngineWorkerClient | null = null;
  private node: Libp2p | null = null;

  async start(): Promise<void> {
    this.worker = new EngineWorkerClient();
    const probe = this.worker.probe().then((gpu) => this.update({ gpu }));
    try {
      const swarm = await loadSwarmConfig();
      this.update({ swarm });
      this.node = await createSwarmNode({ swarmId: swarm.swarmId, relayAddrs: swarm.relayAddrs, allowPrivateAddresses: swarm.local });
      const node = this.node;
      const refresh = () => this.update({ relayConnected: node.getConnections().some((c) => !c.remoteAddr.toString().includes('/webrtc')) });
      node.addEventListener('connection:open', refresh);
      node.addEventListener('connection:close', refresh);
      this.update({ peerId: node.peerId.toString() });
      refresh();
      await probe;
      this.update({ phase: 'ready' });
    } catch (error) {
      await probe.catch(() => undefined);
      this.update({ phase: 'error', error: (error as Error).message });
    }
  }

  async stop(): Promise<void> {
    this.worker?.terminate();
    await this.node?.stop();
  }

  private update(patch: Partial<SessionSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
  }
}
