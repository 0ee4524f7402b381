/// A one-hash Bloom filter in front of a large lookup table: a bit array small enough to stay in
/// the CPU cache, set for every key the table holds. A key whose bit is clear is certainly not in
/// the table, so the common case (no entry matches) costs one cached bit test instead of probing
/// a table of 100,000 entries, which misses the cache. With 16 bits per key about 6 % of absent
/// keys still go on to the table.
struct MembershipFilter: Sendable {
    private var bits: [UInt64]
    private let mask: UInt64

    init(capacity: Int) {
        var size: UInt64 = 1024
        while size < UInt64(max(capacity, 1)) * 16 { size <<= 1 }
        bits = Array(repeating: 0, count: Int(size / 64))
        mask = size - 1
    }

    mutating func insert(_ hash: UInt64) {
        let bit = hash & mask
        bits[Int(bit >> 6)] |= 1 << (bit & 63)
    }

    func mayContain(_ hash: UInt64) -> Bool {
        let bit = hash & mask
        return bits[Int(bit >> 6)] & (1 << (bit & 63)) != 0
    }

    /// FNV-1a over the UTF-8 bytes, finished with a multiply-shift mix so the low bits (the
    /// ones the mask keeps) depend on every byte.
    static func hash(_ text: some StringProtocol) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return mix(hash)
    }

    static func hash(_ bits: AddressBits, prefix: Int) -> UInt64 {
        mix(bits.high &* 0x9e37_79b9_7f4a_7c15 ^ bits.low ^ UInt64(prefix) << 1 ^ (bits.isIPv4 ? 1 : 0))
    }

    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 33)) &* 0xff51_afd7_ed55_8ccd
        z = (z ^ (z >> 33)) &* 0xc4ce_b9fe_1a85_ec53
        return z ^ (z >> 33)
    }
}
