import Logging
import NIOCore
import PostgresNIO

extension PostgresDatabase {
    /// Streams events into `events` with `COPY ... FROM STDIN` (text format) on the session's
    /// connection, inside its transaction: one round trip and no statement to parse per batch,
    /// where a multi-row INSERT of thousands of parameters cost PostgreSQL more to plan than to run.
    func copy(_ events: some Collection<Event>, columns: [String], session: PostgresSession) throws(StoreError) {
        var buffer = ByteBufferAllocator().buffer(capacity: events.count * 256)
        for event in events { Self.writeCopyRow(event, into: &buffer) }
        let connection = session.connection, rows = buffer
        try wait("COPY events") {
            try await connection.copyFrom(table: "events", columns: columns, logger: PostgresSession.logger) { writer in
                try await writer.write(rows)
            }
        }
    }

    /// One event as a line of COPY text, in `Event.insertColumns` order, written field by field
    /// (boxing 24 values per row in an array showed in the ingest profile).
    static func writeCopyRow(_ event: Event, into buffer: inout ByteBuffer) {
        func text(_ value: String?) {
            if let value { writeCopyText(.text(value), into: &buffer) } else { buffer.writeStaticString("\\N") }
            buffer.writeInteger(UInt8(ascii: "\t"))
        }
        func integer(_ value: Int64?) {
            if let value { writeDecimal(value, into: &buffer) } else { buffer.writeStaticString("\\N") }
            buffer.writeInteger(UInt8(ascii: "\t"))
        }
        text(event.uid); integer(event.timeMs); text(event.actionType.rawValue); text(event.actionId); text(event.userId)
        text(event.email); text(event.emailDomain); text(event.ip); text(event.userAgent); text(event.verdict.rawValue)
        text(event.decidedBy.rawValue); text(event.reason); text(event.errorMessage); text(event.outcome.rawValue)
        integer(event.httpStatus.map(Int64.init)); integer(event.latencyUs); integer(event.endpointLatencyUs)
        text(event.errorMode.rawValue); text(event.detail); integer(event.outcome == .ok ? 0 : 1); text(event.authMethod)
        text(event.organizationId); text(event.deviceFingerprint)
        if let node = event.node { writeCopyText(.text(node), into: &buffer) } else { buffer.writeStaticString("\\N") }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    static func writeDecimal(_ value: Int64, into buffer: inout ByteBuffer) {
        if value < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { bytes in
            repeat {
                bytes[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[(20 - count)...]))
        }
    }

    /// One value in COPY's text format: `\N` for NULL; backslash, tab, newline and carriage
    /// return escaped in text.
    static func writeCopyText(_ value: SQLValue, into buffer: inout ByteBuffer) {
        switch value {
        case .null:
            buffer.writeStaticString("\\N")
        case .integer(let number):
            buffer.writeString(String(number))
        case .text(let text):
            var text = text
            // Most values need no escape: write them whole.
            let plain = text.withUTF8 { bytes in
                !bytes.contains { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }
            }
            if plain {
                text.withUTF8 { buffer.writeBytes($0) }
                return
            }
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
                case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
                case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
                default: buffer.writeInteger(byte)
                }
            }
        }
    }
}
