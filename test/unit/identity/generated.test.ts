// The committed ABI/bytecode module must be exactly what solc makes from the committed Solidity source.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COORDINATOR_GENERATED, renderCoordinatorModule } from '../../../scripts/build-contracts.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

describe('generated contract module', () => {
  it('is identical to a fresh compile (run scripts/build-contracts.ts after editing the .sol)', () => {
    const committed = readFileSync(`${repo}${COORDINATOR_GENERATED}`, 'utf8');
    expect(committed === renderCoordinatorModule(), `${COORDINATOR_GENERATED} is stale: npm run -s tsnode -- scripts/build-contracts.ts`).toBe(true);
  }, 60_000);
});
