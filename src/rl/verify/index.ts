// Verified work (issue 13): committed sampling, spot checks and evidence. Pure and network-free; the
// challenge protocol over libp2p, the weight fetch and the consequences (J, scores, feed) sit above it.
export { weightsHash, sha256, toHex, fromHex, merkleLevels, merkleProof, verifyMerkleProof, leafHash, HexError } from './hash.ts';
export { samplingSeed, uniformAt } from './seed.ts';
export { cdfPlacement, type CdfPlacement, type SamplingSettings } from './sampler.ts';
export {
  LOGPROB_QUANTUM, LOGPROB_QMAX, MAX_COMMITTED_COMPLETIONS, MAX_COMPLETION_TOKENS, quantiseLogprob, dequantiseLogprob,
  commitSampling, revealCompletion, leafBytes, commitmentWireBytes, revealWireBytes, CommitmentError,
  type SamplingCommitment, type CommittedSettings, type CompletionLeaf, type CommittedBatch, type Reveal,
} from './commit.ts';
export {
  DEFAULT_TOLERANCE, MAX_CHALLENGED_ROWS, makeChallenge, answerChallenge, spotCheck, ChallengeError,
  type Tolerance, type Challenge, type ChallengeResponse, type Verdict, type SpotCheckInput,
} from './check.ts';
export {
  makeEvidence, evidenceBytes, checkEvidenceSignature, canonicalJson,
  type Evidence, type UnsignedEvidence, type EvidenceSigner, type EvidenceVerifier,
} from './evidence.ts';
