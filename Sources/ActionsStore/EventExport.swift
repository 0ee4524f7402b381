import ActionsDomain
import Foundation
import ActionsProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Events as files an operator takes elsewhere: JSON Lines (every field, exact, named in
/// snake_case as the CSV columns and the HTTP API name them) or CSV (RFC 4180:
/// every field quoted, quotes doubled; cells that a spreadsheet would run as a formula are
/// prefixed with a quote). One format for `actionsctl events --format` and the dashboard's export.
package enum EventExport {
    package enum Format: String, CaseIterable, Sendable {
        case jsonl, csv

        /// By a file name's extension: `.csv` is CSV, anything else JSON Lines.
        package init(fileName: String) {
            self = fileName.lowercased().hasSuffix(".csv") ? .csv : .jsonl
        }
    }

    /// The CSV header's names, which JSON Lines and the HTTP API share (`EventColumn.exportName`).
    static let columns = EventColumn.exported.compactMap(\.exportName)

    /// `time_ms`, `action_type`, ...: the names of `columns`, which the HTTP API shares.
    static var jsonEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }

    /// Reads a line `line(_:.jsonl)` wrote.
    package static func event(fromJSONLine line: String) throws -> Event {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Event.self, from: Data(line.utf8))
    }

    package static func header(_ format: Format) -> String? {
        format == .csv ? columns.map(quoted).joined(separator: ",") : nil
    }

    package static func line(_ event: Event, _ format: Format) throws -> String {
        switch format {
        case .jsonl:
            return String(decoding: try jsonEncoder.encode(event), as: UTF8.self)
        case .csv:
            let fields = EventColumn.exported.map { event.exportText($0) }
            return fields.map { quoted($0 ?? "") }.joined(separator: ",")
        }
    }

    /// Writes events to a file (created mode 0600: the log holds personal data); returns the count.
    @discardableResult
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package static func write(_ events: [Event], to path: String, format: Format) throws -> Int {
        var text = header(format).map { $0 + "\n" } ?? ""
        for event in events { text += try line(event, format) + "\n" }
        try writePrivateFile(path, Array(text.utf8))
        return events.count
    }

    /// Writes a file only its owner can read (0600, also when it existed with a wider mode): every
    /// file the tools write holds personal data from the log.
    @available(*, noasync, message: "blocks its thread: from async code, call it inside `BlockingWork.run { }`")
    package static func writePrivateFile(_ path: String, _ bytes: [UInt8]) throws {
        // Never through a symlink: the write would land, and the mode change, on its target.
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError.invalidValue("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        fchmod(fd, 0o600)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw StoreError.invalidValue("cannot write \(path): \(String(cString: strerror(errno)))") }
            written += count
        }
    }

    /// A CSV cell for a spreadsheet: control characters (C0, C1, DEL) and bidi and other format
    /// characters shown as visible escapes, as the dashboard shows them; and a cell a spreadsheet
    /// would run as a formula (=, +, -, @, or their fullwidth forms, after any leading spaces)
    /// made text with a leading quote.
    static func quoted(_ field: String) -> String {
        var field = TerminalText.escape(field)
        let formulaStarts: Set<Character> = ["=", "+", "-", "@", "\u{FF1D}", "\u{FF0B}", "\u{FF0D}", "\u{FF20}", "\u{FE62}", "\u{FE63}", "\u{FE66}"]
        if let first = field.first(where: { $0 != " " && $0 != "\u{3000}" && $0 != "\u{A0}" }), formulaStarts.contains(first) {
            field = "'" + field
        }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
