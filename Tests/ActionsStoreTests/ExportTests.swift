import Testing
import Foundation
import ActionsTestSupport
import ActionsProtocol
import ActionsDomain
@testable import ActionsStore

/// CSV is for spreadsheets: no control character in any cell, and nothing a spreadsheet runs.
@Suite struct ExportTests {
    @Test(arguments: [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"\"http://x\"\")"), ("  =1+1", "'  =1+1"), ("\u{FF1D}1+1", "'\u{FF1D}1+1"),
        ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\u{3000}=1", "'\u{3000}=1"),
        ("\n=cmd", "\\n=cmd"), ("\u{1b}[2Jx", "\\e[2Jx"), ("\u{9b}31m", "\\x9b31m"), ("a\u{202e}b", "a\\u{202e}b"),
        ("plain@example.com", "plain@example.com"), ("say \"hi\"", "say \"\"hi\"\""),
    ])
    func cellsAreTextAndVisible(_ input: String, _ cell: String) {
        let quoted = EventExport.quoted(input)
        #expect(quoted == "\"" + cell + "\"", "\(input.debugDescription) -> \(quoted)")
        #expect(!quoted.unicodeScalars.contains { $0.value < 0x20 || (0x7f..<0xa0).contains($0.value) })
    }

    @Test func filesAreWrittenForTheirOwnerOnly() throws {
        let path = Scratch.directory("export").appendingPathComponent("export.csv").path
        _ = FileManager.default.createFile(atPath: path, contents: Data("old".utf8), attributes: [.posixPermissions: 0o644])
        try EventExport.writePrivateFile(path, Array("new\n".utf8))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600, "an existing file's wider mode is narrowed too")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\n")
    }
}
