// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CoordinatorSignatures} from "./CoordinatorSignatures.sol";
import {PeerIds} from "./PeerIds.sol";

/// The register, rewards and winners of one tabswarm swarm.
///
/// A peer id is bound to a wallet by an EIP-712 `PeerBinding` that the wallet signs and the peer's libp2p key signs.
/// For a secp256k1 peer id both signatures are checked here (ecrecover, and the peer id re-derived from the key), so
/// nobody can claim a peer id whose key they do not hold, whoever sends the transaction. The EVM cannot check an
/// Ed25519 signature, so an Ed25519 peer id is accepted only from a stage manager (the coordinator service, which
/// checked it off-chain). Every registration is a fresh entry: a revoked squatter's totals and "already submitted"
/// flags stay with its own entry and never pass to the next owner of the peer id.
///
/// Rewards are unsigned and bounded per report (`maxRewardPerReport`), so no sum can overflow; they are taken only for
/// the last `rewardWindowRounds` rounds. In a batch, a bad entry is skipped with a `RewardSkipped` event.
contract SwarmCoordinator is CoordinatorSignatures {
    struct PeerBinding {
        address account;
        string peerId;
        string swarmId;
        uint256 nonce;
        uint256 deadline;
    }

    struct PeerEntry {
        string peerId;
        address account;
        uint256 totalReward;
        uint256 totalWins;
    }

    /// Why `submitRewardsFor` skipped an entry (the value in `RewardSkipped`).
    enum SkipReason {
        NotRegistered,
        AlreadySubmitted,
        RewardTooLarge,
        TooFewAttestations
    }

    /// One attested reward: `signatures` are EIP-712 `RewardAttestation` signatures (65 bytes each) by the wallets
    /// of registered peers, in strictly increasing signer address order (so distinctness costs one comparison).
    struct AttestedReward {
        string peerId;
        uint256 reward;
        bytes[] signatures;
    }

    error NotOwner();
    error NotStageManager();
    error ZeroAddress();
    error InvalidStageCount();
    error WrongSwarm();
    error BindingExpired(uint256 deadline);
    error InvalidNonce(uint256 expected);
    error SenderNotAccount();
    error InvalidPeerId();
    error InvalidPeerSignatureLength();
    error PeerKeyUnverifiable();
    error InvalidRewardBounds();
    error RewardTooLarge(uint256 reward, uint256 max);
    error RoundClosed(uint256 round, uint256 oldestOpen);
    error PeerIdTaken(address account);
    error PeerNotRegistered(string peerId);
    error NotPeerAccount();
    error RoundNotOpen(uint256 round, uint256 stage);
    error RewardAlreadySubmitted(uint256 round, uint256 stage, string peerId);
    error WinnersAlreadySubmitted(uint256 round, string peerId);
    error InvalidWinners();
    error DuplicateWinner(string peerId);
    error LengthMismatch();
    error BatchTooLarge(uint256 max);
    error InvalidQuorum();

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event StageManagerSet(address indexed manager, bool enabled);
    event PeerRegistered(
        address indexed account, bytes32 indexed peerIdHash, string peerId, uint256 nonce, uint256 deadline, bytes peerSignature, address submitter
    );
    event PeerRevoked(address indexed account, bytes32 indexed peerIdHash, string peerId);
    event StageAdvanced(uint256 indexed round, uint256 stage);
    event RoundAdvanced(uint256 indexed round);
    event RewardSubmitted(uint256 indexed round, uint256 indexed stage, bytes32 indexed peerIdHash, string peerId, uint256 reward, address submitter);
    event RewardSkipped(uint256 indexed round, uint256 indexed stage, bytes32 indexed peerIdHash, string peerId, uint256 reward, SkipReason reason);
    event WinnersSubmitted(uint256 indexed round, bytes32 indexed voterIdHash, string voterPeerId, string[] winners);
    event RoundWinnersSubmitted(uint256 indexed round, string[] winners, uint256 recorded, address submitter);

    bytes32 public constant PEER_BINDING_TYPEHASH =
        keccak256("PeerBinding(address account,string peerId,string swarmId,uint256 nonce,uint256 deadline)");
    bytes32 public constant REWARD_ATTESTATION_TYPEHASH =
        keccak256("RewardAttestation(uint256 round,uint256 stage,string peerId,uint256 reward)");
    uint256 public constant MAX_ATTESTATIONS = 16;
    uint256 public constant MAX_PEER_ID_BYTES = 128;
    uint256 public constant MAX_WINNERS = 32;
    uint256 public constant MAX_BATCH = 256;
    /// A reward report can never exceed this, whatever the deployment says: 2^32 units per report cannot
    /// overflow a uint256 total in any number of transactions a chain could mine.
    uint256 public constant REWARD_CAP = type(uint32).max;

    address public owner;
    mapping(address => bool) public stageManagers;
    string public swarmId;
    bytes32 private immutable swarmIdHash;
    uint256 public immutable stagesPerRound;
    /// The largest reward one report may carry (in the app's units, thousandths).
    uint256 public immutable maxRewardPerReport;
    /// Rewards are taken for rounds currentRound - rewardWindowRounds .. currentRound only.
    uint256 public immutable rewardWindowRounds;
    uint256 public currentRound;
    uint256 public currentStage;

    mapping(address => uint256) public nonces;
    /// One entry per registration (a re-registration after a revocation starts a new, empty entry).
    PeerEntry[] private peers;
    /// keccak256(peerId) => index in `peers` + 1 of its latest registration (0 = never registered).
    mapping(bytes32 => uint256) private peerSlot;
    mapping(address => bytes32[]) private peersOfAccount;
    /// Keyed by (round, stage, registration slot) and (round, voter slot): flags belong to a registration.
    mapping(bytes32 => bool) private rewardDone;
    mapping(bytes32 => bool) private winnersDone;
    /// Rounds whose winners a stage manager recorded from its verified rewards.
    mapping(uint256 => bool) public roundWinnersSubmitted;
    /// Distinct registered accounts (other than the peer's own) whose signatures make an attested reward count.
    uint256 public attestationQuorum = 2;

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    modifier onlyStageManager() {
        if (!stageManagers[msg.sender]) revert NotStageManager();
        _;
    }

    constructor(string memory swarmId_, uint256 stagesPerRound_, address stageManager, uint256 maxRewardPerReport_, uint256 rewardWindowRounds_) {
        if (stagesPerRound_ == 0 || stagesPerRound_ > 16) revert InvalidStageCount();
        if (stageManager == address(0)) revert ZeroAddress();
        if (maxRewardPerReport_ == 0 || maxRewardPerReport_ > REWARD_CAP || rewardWindowRounds_ > 1024) revert InvalidRewardBounds();
        maxRewardPerReport = maxRewardPerReport_;
        rewardWindowRounds = rewardWindowRounds_;
        owner = msg.sender;
        swarmId = swarmId_;
        swarmIdHash = keccak256(bytes(swarmId_));
        stagesPerRound = stagesPerRound_;
        stageManagers[stageManager] = true;
        emit OwnershipTransferred(address(0), msg.sender);
        emit StageManagerSet(stageManager, true);
    }

    // ---- administration ----

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function setStageManager(address manager, bool enabled) external onlyOwner {
        if (manager == address(0)) revert ZeroAddress();
        stageManagers[manager] = enabled;
        emit StageManagerSet(manager, enabled);
    }

    function setAttestationQuorum(uint256 k) external onlyOwner {
        if (k == 0 || k > MAX_ATTESTATIONS) revert InvalidQuorum();
        attestationQuorum = k;
    }

    /// Moves to the next stage; after the last stage of a round, to stage 0 of the next round.
    function advanceStage() external onlyStageManager returns (uint256 round, uint256 stage) {
        if (currentStage + 1 < stagesPerRound) {
            currentStage += 1;
        } else {
            currentStage = 0;
            currentRound += 1;
            emit RoundAdvanced(currentRound);
        }
        emit StageAdvanced(currentRound, currentStage);
        return (currentRound, currentStage);
    }

    // ---- EIP-712 (the domain and the signature checks are in CoordinatorSignatures.sol) ----

    function hashPeerBinding(PeerBinding calldata b) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(PEER_BINDING_TYPEHASH, b.account, keccak256(bytes(b.peerId)), keccak256(bytes(b.swarmId)), b.nonce, b.deadline)
        );
        return keccak256(abi.encodePacked(hex"1901", DOMAIN_SEPARATOR(), structHash));
    }

    // ---- registration ----

    /// Registration sent by the account itself (it pays gas; no wallet signature needed). The peer key must be
    /// secp256k1 and proven here: `peerPublicKey` is its 64-byte uncompressed form (x, y).
    function registerPeer(PeerBinding calldata b, bytes calldata peerSignature, bytes calldata peerPublicKey) external {
        if (msg.sender != b.account) revert SenderNotAccount();
        if (peerPublicKey.length == 0) revert PeerKeyUnverifiable();
        _register(b, peerSignature, peerPublicKey);
    }

    /// Registration relayed by anyone with the wallet's signature (the coordinator service: gasless for the user).
    /// A secp256k1 peer key is proven here; an Ed25519 one (empty `peerPublicKey`) only a stage manager may relay.
    function registerPeerWithSig(PeerBinding calldata b, bytes calldata walletSignature, bytes calldata peerSignature, bytes calldata peerPublicKey)
        external
    {
        _checkSignature(b.account, hashPeerBinding(b), walletSignature);
        if (peerPublicKey.length == 0 && !stageManagers[msg.sender]) revert PeerKeyUnverifiable();
        _register(b, peerSignature, peerPublicKey);
    }

    /// Drops a binding whose peer signature was found invalid off-chain, freeing the peer id for its real owner.
    function revokePeer(string calldata peerId) external onlyStageManager {
        bytes32 h = keccak256(bytes(peerId));
        uint256 slot = peerSlot[h];
        if (slot == 0 || peers[slot - 1].account == address(0)) revert PeerNotRegistered(peerId);
        address account = peers[slot - 1].account;
        peers[slot - 1].account = address(0);
        bytes32[] storage list = peersOfAccount[account];
        for (uint256 i = 0; i < list.length; i++) {
            if (list[i] == h) {
                list[i] = list[list.length - 1];
                list.pop();
                break;
            }
        }
        emit PeerRevoked(account, h, peerId);
    }

    function _register(PeerBinding calldata b, bytes calldata peerSignature, bytes calldata peerPublicKey) private {
        if (keccak256(bytes(b.swarmId)) != swarmIdHash) revert WrongSwarm();
        if (block.timestamp > b.deadline) revert BindingExpired(b.deadline);
        if (b.nonce != nonces[b.account]) revert InvalidNonce(nonces[b.account]);
        uint256 len = bytes(b.peerId).length;
        if (len == 0 || len > MAX_PEER_ID_BYTES) revert InvalidPeerId();
        if (peerSignature.length != 64) revert InvalidPeerSignatureLength();
        if (peerPublicKey.length != 0) _checkPeerKey(b.peerId, hashPeerBinding(b), peerSignature, peerPublicKey);
        bytes32 h = keccak256(bytes(b.peerId));
        uint256 slot = peerSlot[h];
        if (slot != 0 && peers[slot - 1].account != address(0)) revert PeerIdTaken(peers[slot - 1].account);
        nonces[b.account] += 1;
        // Always a new entry: what an earlier (revoked) registration of this peer id earned stays with it.
        peers.push(PeerEntry({peerId: b.peerId, account: b.account, totalReward: 0, totalWins: 0}));
        peerSlot[h] = peers.length;
        peersOfAccount[b.account].push(h);
        emit PeerRegistered(b.account, h, b.peerId, b.nonce, b.deadline, peerSignature, msg.sender);
    }

    // ---- rewards and winners ----

    /// A peer's own account reports its reward for one stage of one round, once.
    function submitReward(uint256 round, uint256 stage, uint256 reward, string calldata peerId) external {
        uint256 slot = _boundSlot(peerId);
        if (peers[slot - 1].account != msg.sender) revert NotPeerAccount();
        _checkOpen(round, stage);
        if (reward > maxRewardPerReport) revert RewardTooLarge(reward, maxRewardPerReport);
        bytes32 key = keccak256(abi.encode(round, stage, slot));
        if (rewardDone[key]) revert RewardAlreadySubmitted(round, stage, peerId);
        _recordReward(key, slot, round, stage, reward, peerId);
    }

    /// The coordinator's batched, gasless path. An entry that is unregistered, repeated or over the bound is skipped
    /// with a `RewardSkipped` event rather than reverting, so one bad entry cannot sink a whole batch; returns how
    /// many rewards were recorded.
    function submitRewardsFor(uint256 round, uint256 stage, string[] calldata peerIds, uint256[] calldata rewards)
        external
        onlyStageManager
        returns (uint256 recorded)
    {
        if (peerIds.length != rewards.length) revert LengthMismatch();
        if (peerIds.length > MAX_BATCH) revert BatchTooLarge(MAX_BATCH);
        _checkOpen(round, stage);
        for (uint256 i = 0; i < peerIds.length; i++) {
            bytes32 h = keccak256(bytes(peerIds[i]));
            uint256 slot = peerSlot[h];
            bytes32 key = keccak256(abi.encode(round, stage, slot));
            SkipReason reason;
            if (slot == 0 || peers[slot - 1].account == address(0)) reason = SkipReason.NotRegistered;
            else if (rewards[i] > maxRewardPerReport) reason = SkipReason.RewardTooLarge;
            else if (rewardDone[key]) reason = SkipReason.AlreadySubmitted;
            else {
                _recordReward(key, slot, round, stage, rewards[i], peerIds[i]);
                recorded += 1;
                continue;
            }
            emit RewardSkipped(round, stage, h, peerIds[i], rewards[i], reason);
        }
    }

    function hashRewardAttestation(uint256 round, uint256 stage, string calldata peerId, uint256 reward) public view returns (bytes32) {
        bytes32 structHash = keccak256(abi.encode(REWARD_ATTESTATION_TYPEHASH, round, stage, keccak256(bytes(peerId)), reward));
        return keccak256(abi.encodePacked(hex"1901", DOMAIN_SEPARATOR(), structHash));
    }

    /// Rewards with no trusted service: anyone may send them, and an entry counts only when `attestationQuorum`
    /// distinct registered accounts, none of them the peer's own, signed the same (round, stage, peer, reward).
    /// A bad entry (unregistered, over the bound, repeated, too few valid attestations) is skipped with a
    /// `RewardSkipped` event; returns how many were recorded.
    function submitAttestedRewards(uint256 round, uint256 stage, AttestedReward[] calldata entries) external returns (uint256 recorded) {
        if (entries.length > MAX_BATCH) revert BatchTooLarge(MAX_BATCH);
        _checkOpen(round, stage);
        for (uint256 i = 0; i < entries.length; i++) {
            AttestedReward calldata e = entries[i];
            bytes32 h = keccak256(bytes(e.peerId));
            uint256 slot = peerSlot[h];
            bytes32 key = keccak256(abi.encode(round, stage, slot));
            SkipReason reason;
            if (slot == 0 || peers[slot - 1].account == address(0)) reason = SkipReason.NotRegistered;
            else if (e.reward > maxRewardPerReport) reason = SkipReason.RewardTooLarge;
            else if (rewardDone[key]) reason = SkipReason.AlreadySubmitted;
            else if (_attesters(hashRewardAttestation(round, stage, e.peerId, e.reward), e.signatures, peers[slot - 1].account) < attestationQuorum) {
                reason = SkipReason.TooFewAttestations;
            } else {
                _recordReward(key, slot, round, stage, e.reward, e.peerId);
                recorded += 1;
                continue;
            }
            emit RewardSkipped(round, stage, h, e.peerId, e.reward, reason);
        }
    }

    /// How many valid attesters signed `digest`: registered accounts other than `subject`, in increasing order.
    /// A malformed, malleable, unregistered or out-of-order signature simply does not count.
    function _attesters(bytes32 digest, bytes[] calldata signatures, address subject) private view returns (uint256 count) {
        address last = address(0);
        uint256 n = signatures.length > MAX_ATTESTATIONS ? MAX_ATTESTATIONS : signatures.length;
        for (uint256 i = 0; i < n; i++) {
            address signer = PeerIds.tryRecover(digest, signatures[i]);
            if (signer <= last || signer == subject || peersOfAccount[signer].length == 0) continue;
            last = signer;
            count += 1;
        }
    }

    /// A voter (by its bound account) names the round's winners, once per round; each named peer gains one win.
    function submitWinners(uint256 round, string[] calldata winners, string calldata peerId) external {
        uint256 voterSlot = _boundSlot(peerId);
        if (peers[voterSlot - 1].account != msg.sender) revert NotPeerAccount();
        if (round > currentRound) revert RoundNotOpen(round, 0);
        if (winners.length == 0 || winners.length > MAX_WINNERS) revert InvalidWinners();
        bytes32 voterHash = keccak256(bytes(peerId));
        bytes32 key = keccak256(abi.encode(round, voterSlot));
        if (winnersDone[key]) revert WinnersAlreadySubmitted(round, peerId);
        winnersDone[key] = true;
        uint256[] memory slots = new uint256[](winners.length);
        for (uint256 i = 0; i < winners.length; i++) {
            uint256 slot = _boundSlot(winners[i]);
            for (uint256 j = 0; j < i; j++) {
                if (slots[j] == slot) revert DuplicateWinner(winners[i]);
            }
            slots[i] = slot;
            peers[slot - 1].totalWins += 1;
        }
        emit WinnersSubmitted(round, voterHash, peerId, winners);
    }

    /// The stage manager's winners of a round, from the rewards it re-scored itself: once per round, each registered
    /// named peer gains one win. An unregistered or repeated name is skipped, never reverting the others; returns
    /// how many wins were recorded.
    function submitRoundWinners(uint256 round, string[] calldata winners) external onlyStageManager returns (uint256 recorded) {
        if (round > currentRound) revert RoundNotOpen(round, 0);
        if (winners.length == 0 || winners.length > MAX_WINNERS) revert InvalidWinners();
        if (roundWinnersSubmitted[round]) revert WinnersAlreadySubmitted(round, "");
        roundWinnersSubmitted[round] = true;
        uint256[] memory slots = new uint256[](winners.length);
        for (uint256 i = 0; i < winners.length; i++) {
            uint256 slot = peerSlot[keccak256(bytes(winners[i]))];
            if (slot == 0 || peers[slot - 1].account == address(0)) continue;
            bool repeated = false;
            for (uint256 j = 0; j < i; j++) {
                if (slots[j] == slot) repeated = true;
            }
            if (repeated) continue;
            slots[i] = slot;
            peers[slot - 1].totalWins += 1;
            recorded += 1;
        }
        emit RoundWinnersSubmitted(round, winners, recorded, msg.sender);
    }

    function _recordReward(bytes32 key, uint256 slot, uint256 round, uint256 stage, uint256 reward, string calldata peerId) private {
        rewardDone[key] = true;
        peers[slot - 1].totalReward += reward;
        emit RewardSubmitted(round, stage, keccak256(bytes(peerId)), peerId, reward, msg.sender);
    }

    function _boundSlot(string calldata peerId) private view returns (uint256 slot) {
        slot = peerSlot[keccak256(bytes(peerId))];
        if (slot == 0 || peers[slot - 1].account == address(0)) revert PeerNotRegistered(peerId);
    }

    function _checkOpen(uint256 round, uint256 stage) private view {
        if (stage >= stagesPerRound || round > currentRound || (round == currentRound && stage > currentStage)) {
            revert RoundNotOpen(round, stage);
        }
        // round <= currentRound here, so the sum cannot overflow.
        if (round + rewardWindowRounds < currentRound) revert RoundClosed(round, currentRound - rewardWindowRounds);
    }

    // ---- views ----

    function accountOf(string calldata peerId) external view returns (address) {
        uint256 slot = peerSlot[keccak256(bytes(peerId))];
        return slot == 0 ? address(0) : peers[slot - 1].account;
    }

    function peerIdsOf(address account) external view returns (string[] memory ids) {
        bytes32[] storage list = peersOfAccount[account];
        ids = new string[](list.length);
        for (uint256 i = 0; i < list.length; i++) ids[i] = peers[peerSlot[list[i]] - 1].peerId;
    }

    /// Totals of the peer id's latest registration.
    function totalRewards(string calldata peerId) external view returns (uint256) {
        uint256 slot = peerSlot[keccak256(bytes(peerId))];
        return slot == 0 ? 0 : peers[slot - 1].totalReward;
    }

    function totalWins(string calldata peerId) external view returns (uint256) {
        uint256 slot = peerSlot[keccak256(bytes(peerId))];
        return slot == 0 ? 0 : peers[slot - 1].totalWins;
    }

    /// Flags of the peer id's latest registration.
    function rewardSubmitted(uint256 round, uint256 stage, string calldata peerId) external view returns (bool) {
        uint256 slot = peerSlot[keccak256(bytes(peerId))];
        return slot != 0 && rewardDone[keccak256(abi.encode(round, stage, slot))];
    }

    function winnersSubmitted(uint256 round, string calldata peerId) external view returns (bool) {
        uint256 slot = peerSlot[keccak256(bytes(peerId))];
        return slot != 0 && winnersDone[keccak256(abi.encode(round, slot))];
    }

    /// Every registration ever made (revoked ones keep their totals, with account zero).
    function peerCount() external view returns (uint256) {
        return peers.length;
    }

    /// One page of the register in registration order; sorting by reward is left to the reader (no on-chain sort).
    function leaderboard(uint256 offset, uint256 limit) external view returns (PeerEntry[] memory page) {
        if (offset >= peers.length) return new PeerEntry[](0);
        uint256 end = offset + (limit > MAX_BATCH ? MAX_BATCH : limit);
        if (end > peers.length) end = peers.length;
        page = new PeerEntry[](end - offset);
        for (uint256 i = offset; i < end; i++) page[i - offset] = peers[i];
    }
}
