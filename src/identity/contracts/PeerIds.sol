// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// Pure helpers of the coordinator: libp2p peer ids of secp256k1 keys, and signature recovery that never reverts.
library PeerIds {
    bytes private constant BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    /// secp256k1n / 2: larger s values are the malleable twin of a valid signature (EIP-2).
    uint256 private constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// The libp2p peer id (base58btc) of a secp256k1 key: the identity multihash (0x00 0x25) of the protobuf
    /// PublicKey {Type: Secp256k1 (0x08 0x02), Data: 33 bytes (0x12 0x21)} holding the compressed key.
    function secp256k1PeerId(bytes32 x, bool yOdd) internal pure returns (bytes memory id) {
        // The 39 bytes as a number in three 128-bit limbs (the leading 0x00 byte becomes the leading "1").
        uint256 hi = (0x2508021221 << 8) | (yOdd ? 3 : 2);
        uint256 mid = uint256(x) >> 128;
        uint256 lo = uint256(x) & type(uint128).max;
        bytes memory digits = new bytes(56);
        uint256 n = 0;
        while (hi | mid | lo != 0) {
            uint256 rem = hi % 58;
            hi /= 58;
            uint256 t = (rem << 128) | mid;
            mid = t / 58;
            t = ((t % 58) << 128) | lo;
            lo = t / 58;
            digits[n++] = BASE58_ALPHABET[t % 58];
        }
        id = new bytes(n + 1);
        id[0] = "1";
        for (uint256 i = 0; i < n; i++) id[i + 1] = digits[n - 1 - i];
    }

    /// The signer of a 65-byte (r, s, v) signature over `digest`, or address(0) when it is malformed or malleable:
    /// for counting attestations, where a bad signature must simply not count.
    function tryRecover(bytes32 digest, bytes calldata sig) internal pure returns (address) {
        if (sig.length != 65) return address(0);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (uint256(s) > HALF_N || (v != 27 && v != 28)) return address(0);
        return ecrecover(digest, v, r, s);
    }
}
