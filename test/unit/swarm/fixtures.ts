// Well-formed messages of every kind, for the decoder, validator and fuzz tests.
import type { SwarmMessage } from '../../../src/swarm/messages.ts';

export const PEER_A = '12D3KooWGAEBgKdgKtkRFMPdvmn2wBsPbCo1B4rS2sTfSPkybWV8';
export const PEER_B = '12D3KooWNa7Wch3PD77Ki8DBZ9iEUEyyp1sQGfd8cDWb1VayLg3P';

const header = { v: 1 as const, swarmId: 'test', round: 5, peerId: PEER_A, nonce: 1, ts: 1_700_000_000_000 };
const task = { family: 'arith', seed: 123456, difficulty: 2 };

export function validMessages(): SwarmMessage[] {
  return [
    {
      ...header,
      kind: 'rollouts',
      rollouts: [
        { task, completions: [{ text: '<answer>42</answer>', reward: 1 }, { text: 'no idea', reward: 0 }] },
        { task: { ...task, seed: 7 }, completions: [{ text: '<answer>7</answer>', reward: 1.1 }] },
      ],
      part: 0,
      parts: 1,
      modelCommitment: 'ab'.repeat(32),
    },
    { ...header, kind: 'heartbeat', stats: { tokensPerSecond: 12.5, round: 5, reward: 0.4 } },
    { ...header, kind: 'critique', task, about: PEER_B, text: 'The second step drops a carry.' },
    { ...header, kind: 'vote', votes: [{ task, peerId: PEER_B }] },
    {
      ...header,
      kind: 'binding',
      signed: {
        binding: { account: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', peerId: PEER_A, swarmId: 'test', nonce: '0', deadline: '1900000000' },
        domain: { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
        walletSignature: `0x${'11'.repeat(65)}`,
        peerSignature: `0x${'22'.repeat(64)}`,
      },
    },
    { ...header, kind: 'ping' },
    { ...header, kind: 'echo', echoes: [{ peerId: PEER_B, nonce: 1_732_000_000_000_000 }, { peerId: PEER_A, nonce: 0 }] },
    // last, so the tests that pick kinds by position keep their indices
    { ...header, kind: 'resolve', task, text: '<majority>Student #2</majority><answer>42</answer>' },
  ];
}

export function bytesOf(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}
