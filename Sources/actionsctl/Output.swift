import ActionsProtocol
import Foundation

/// One line of human-readable output: tab-separated fields, each through the dashboard's
/// sanitizer. Emails, IPs, reasons and messages arrive through the unauthenticated `/v1/events`
/// or from other operators, and must not reach the terminal raw (escape sequences could retitle
/// it, clear it or fake rows; bidi controls could reorder what is read). `--json` output is
/// exact instead: JSON escapes what it must, and a program reads it.
func printRow(_ fields: String...) {
    printRow(fields)
}

func printRow(_ fields: [String]) {
    print(fields.map(TerminalText.escape).joined(separator: "\t"))
}

/// One line of `--json` output: the object's members sorted, absent values left out.
func printJSONLine(_ object: [String: Any?]) throws {
    let data = try JSONSerialization.data(withJSONObject: object.compactMapValues { $0 }, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// What a human sees instead of nothing when a listing is empty (`--json` prints nothing).
func printEmpty(_ what: String) {
    print("(\(what))")
}
