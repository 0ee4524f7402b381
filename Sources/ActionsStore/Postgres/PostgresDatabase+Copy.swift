import ActionsDomain
import Logging
import NIOCore
import PostgresNIO

extension PostgresDatabase {
    /// Streams events into `events` with `COPY ... FROM STDIN` (text format) on the session's
    /// connection, inside its transaction: one round trip and no statement to parse per batch,
    /// where a multi-row INSERT of thousands of parameters cost PostgreSQL more to plan than to run.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    func copy(_ events: some Collection<some EventRow>, columns: [String], session: PostgresSession) throws(StoreError) {
        var writer = CopyRowWriter(capacity: events.count * 256)
        for event in events {
            event.write(to: &writer)
            writer.endRow()
        }
        let connection = session.connection, rows = writer.buffer
        try wait(on: session.endpoint, "COPY events") {
            try await connection.copyFrom(table: "events", columns: columns, logger: PostgresSession.logger) { writer in
                try await writer.write(rows)
            }
        }
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

    /// Text in COPY's text format: backslash, tab, newline and carriage return escaped; NUL,
    /// which COPY refuses, stored as `StoredText` says.
    static func writeCopyText(_ text: String, into buffer: inout ByteBuffer) {
        var text = text
        // Most values need no escape: write them whole.
        let plain = text.withUTF8 { bytes in
            !bytes.contains { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r")
                || $0 == 0 || $0 == StoredText.escapeLead }
        }
        if plain {
            _ = text.withUTF8 { buffer.writeBytes($0) }
            return
        }
        if text.withUTF8(StoredText.needsEncoding) { text = StoredText.encode(text) }
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

/// Events as lines of COPY text: fields separated by tabs, `\N` for NULL, a newline after each row.
struct CopyRowWriter: EventFieldWriter {
    private(set) var buffer: ByteBuffer
    private var first = true

    init(capacity: Int) { buffer = ByteBufferAllocator().buffer(capacity: capacity) }

    mutating func text(_ value: String?) {
        separate()
        if let value { PostgresDatabase.writeCopyText(value, into: &buffer) } else { buffer.writeStaticString("\\N") }
    }

    mutating func integer(_ value: Int64?) {
        separate()
        if let value { PostgresDatabase.writeDecimal(value, into: &buffer) } else { buffer.writeStaticString("\\N") }
    }

    private mutating func separate() {
        if !first { buffer.writeInteger(UInt8(ascii: "\t")) }
        first = false
    }

    mutating func endRow() {
        buffer.writeInteger(UInt8(ascii: "\n"))
        first = true
    }
}
