import ActionsProtocol
import ActionsDomain

/// One sign-up or login attempt, in the normalized spelling every rule compares in
/// (`Normalize`): what a live decision, a replayed event and a preview all evaluate.
package struct Attempt: Sendable {
    package var type: ActionType
    package var timeMs: Int64
    /// Normalized; empty when the context had none.
    package var email: String
    package var domain: String
    package var address: IPAddress?

    package init(type: ActionType, timeMs: Int64, email: String?, ip: String?) {
        self.type = type
        self.timeMs = timeMs
        (self.email, self.domain) = email.map { Normalize.emailAndDomain($0) } ?? ("", "")
        self.address = ip.flatMap { IPAddress($0) }
    }

    /// An attempt whose email is already normalized (`ActionContext.decodeChecked`).
    package init(type: ActionType, timeMs: Int64, normalized identity: Normalize.EmailAndDomain, ip: String?) {
        self.type = type
        self.timeMs = timeMs
        (self.email, self.domain) = identity
        self.address = ip.flatMap { IPAddress($0) }
    }

    package init(_ event: Event) {
        self.init(type: event.actionType, timeMs: event.timeMs, email: event.email, ip: event.ip)
    }
}

/// An address as two integers: hashed and masked without allocating, for CIDR lookups and rate keys.
package struct AddressBits: Hashable, Sendable {
    var high: UInt64
    var low: UInt64
    var isIPv4: Bool

    init(_ address: IPAddress) {
        var high: UInt64 = 0, low: UInt64 = 0
        for index in 0..<8 { high = high << 8 | UInt64(address.bytes[index]) }
        for index in 8..<16 { low = low << 8 | UInt64(address.bytes[index]) }
        self.high = high
        self.low = low
        self.isIPv4 = address.isIPv4
    }

    /// The first `prefix` bits of the 128-bit form, the rest zero.
    func masked(_ prefix: Int) -> AddressBits {
        var copy = self
        copy.high = prefix >= 64 ? high : (prefix == 0 ? 0 : high & ~(UInt64.max >> UInt64(prefix)))
        copy.low = prefix >= 128 ? low : (prefix <= 64 ? 0 : low & ~(UInt64.max >> UInt64(prefix - 64)))
        return copy
    }
}
