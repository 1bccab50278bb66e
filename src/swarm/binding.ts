// The swarm's binding check: the identity layer verifies both signatures; the swarm pins the swarm id and,
// when the swarm has a chain, the chain id and coordinator the binding must name.
import { verifyPeerBinding } from '../identity/binding.ts';
import type { SwarmConfig } from './config.ts';
import type { BindingVerifier } from './validator.ts';

export function identityBindingVerifier(config: SwarmConfig, now: () => number = () => Date.now()): BindingVerifier {
  return (message) =>
    verifyPeerBinding(message.signed, {
      expected: {
        swarmId: config.swarmId,
        ...(config.chain ? { chainId: config.chain.chainId, verifyingContract: config.chain.coordinator } : {}),
      },
      now: Math.floor(now() / 1000),
    });
}
