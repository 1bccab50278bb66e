// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PeerIds} from "./PeerIds.sol";

/// Contract wallets (Safe, smart accounts) answer this instead of producing an ECDSA signature.
interface IERC1271 {
    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4);
}

/// Who signed what, for SwarmCoordinator: its EIP-712 domain and the checks of a wallet's signature and of a
/// secp256k1 peer key's. A base of its own because none of it touches the register; the coordinator inherits it,
/// so its ABI (DOMAIN_SEPARATOR, eip712Domain, secp256k1PeerId, the signature errors) is unchanged.
abstract contract CoordinatorSignatures {
    error InvalidSignature();
    error InvalidSignatureLength();
    error SignatureMalleable();
    error InvalidPeerPublicKey();
    error InvalidPeerSignature();
    error PeerKeyMismatch();

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("tabswarm SwarmCoordinator");
    bytes32 private constant VERSION_HASH = keccak256("1");
    /// secp256k1n / 2: larger s values are the malleable twin of a valid signature (EIP-2).
    uint256 private constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        // Recomputed each time so a chain fork (new chain id) cannot replay old signatures.
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    /// ERC-5267: lets wallets and viem discover the signing domain.
    function eip712Domain()
        external
        view
        returns (bytes1 fields, string memory name, string memory version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] memory extensions)
    {
        return (hex"0f", "tabswarm SwarmCoordinator", "1", block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    /// The libp2p peer id (base58btc) of a secp256k1 key (see PeerIds.sol).
    function secp256k1PeerId(bytes32 x, bool yOdd) public pure returns (bytes memory) {
        return PeerIds.secp256k1PeerId(x, yOdd);
    }

    /// Proves that the secp256k1 key (x, y) signed `digest` (64-byte r || s, low s, either recovery id) and that
    /// `peerId` is that key's libp2p peer id.
    function _checkPeerKey(string calldata peerId, bytes32 digest, bytes calldata signature, bytes calldata publicKey) internal pure {
        if (publicKey.length != 64) revert InvalidPeerPublicKey();
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        if (uint256(s) > HALF_N || uint256(s) == 0) revert SignatureMalleable();
        // keccak256(x || y) names the key: a signature recovering to this address was made by the key (x, y).
        address signer = address(uint160(uint256(keccak256(publicKey))));
        if (ecrecover(digest, 27, r, s) != signer && ecrecover(digest, 28, r, s) != signer) revert InvalidPeerSignature();
        uint256 yOdd = uint256(bytes32(publicKey[32:64])) & 1;
        if (keccak256(bytes(peerId)) != keccak256(secp256k1PeerId(bytes32(publicKey[0:32]), yOdd == 1))) revert PeerKeyMismatch();
    }

    /// `account` signed `digest`: by ERC-1271 when it is a contract, else a 65-byte low-s ECDSA signature.
    function _checkSignature(address account, bytes32 digest, bytes calldata signature) internal view {
        if (account.code.length > 0) {
            (bool ok, bytes memory ret) = account.staticcall(abi.encodeCall(IERC1271.isValidSignature, (digest, signature)));
            if (!ok || ret.length != 32 || bytes4(ret) != IERC1271.isValidSignature.selector) revert InvalidSignature();
            return;
        }
        if (signature.length != 65) revert InvalidSignatureLength();
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (uint256(s) > HALF_N) revert SignatureMalleable();
        if (v != 27 && v != 28) revert InvalidSignature();
        address signer = ecrecover(digest, v, r, s);
        if (signer == address(0) || signer != account) revert InvalidSignature();
    }
}
