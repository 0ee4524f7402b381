import Foundation
import Logging
import ActionsProtocol

/// swift-log handler that writes one JSON object per line, for log shippers (Loki, Elasticsearch,
/// journald with `jq`): `{"ts":"…Z","level":"info","label":"…","message":"…", <metadata>…}`.
/// Metadata keys are top-level members, after the fixed ones; nested values become JSON arrays
/// and objects. Strings are escaped, so a hostile email cannot forge a log line.
package struct JSONLogHandler: LogHandler {
    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info
    package var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let write: @Sendable ([UInt8]) -> Void

    /// Writes to standard error unless told otherwise (tests capture the lines).
    package init(label: String, write: @escaping @Sendable ([UInt8]) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.write = write
    }

    /// One write(2) per line, so lines from concurrent requests never interleave. A log that
    /// cannot be written (a closed pipe) loses the line; it must not stop the server.
    package static let standardError: @Sendable ([UInt8]) -> Void = { line in
        try? FileHandle.standardError.write(contentsOf: line)
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        func member(_ key: String, first: Bool = false) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            JSONWriter.appendQuoted(key, to: &out, escaping: .javaScript)
            out.append(UInt8(ascii: ":"))
        }
        member("ts", first: true)
        JSONWriter.appendQuoted(Self.timestamp(Date()), to: &out, escaping: .javaScript)
        member("level")
        JSONWriter.appendQuoted(event.level.rawValue, to: &out, escaping: .javaScript)
        member("label")
        JSONWriter.appendQuoted(label, to: &out, escaping: .javaScript)
        member("message")
        JSONWriter.appendQuoted(event.message.description, to: &out, escaping: .javaScript)
        for key in merged.keys.sorted() where !["ts", "level", "label", "message"].contains(key) {
            member(key)
            Self.append(merged[key]!, to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
        write(out)
    }

    static func append(_ value: Logger.Metadata.Value, to out: inout [UInt8]) {
        switch value {
        case .string(let text): JSONWriter.appendQuoted(text, to: &out, escaping: .javaScript)
        case .stringConvertible(let item): JSONWriter.appendQuoted(item.description, to: &out, escaping: .javaScript)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                append(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.appendQuoted(key, to: &out, escaping: .javaScript)
                out.append(UInt8(ascii: ":"))
                append(members[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// RFC 3339 in UTC with milliseconds, the form log stores parse without configuration.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
