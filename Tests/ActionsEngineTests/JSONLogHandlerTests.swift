import Foundation
import Logging
import Synchronization
import Testing
@testable import ActionsEngine

@Suite struct JSONLogHandlerTests {
    @Test func eachRecordIsOneParseableLineEvenWithHostileMetadata() throws {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "test") { label in
            JSONLogHandler(label: label) { bytes in lines.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
        }
        logger[metadataKey: "pid"] = "42"
        logger.warning("deny for \"eve\"\n{\"level\":\"forged\"}", metadata: [
            "email": "eve@x.io\u{1b}]52;c;evil\u{7}",
            "counts": .dictionary(["allow": "3", "deny": .array(["1", "2"])]),
        ])
        let captured = lines.withLock { $0 }
        #expect(captured.count == 1)
        let line = try #require(captured.first)
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().contains("\n") == false) // the forged line stays inside the message
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "test")
        #expect(object["message"] as? String == "deny for \"eve\"\n{\"level\":\"forged\"}")
        #expect(object["email"] as? String == "eve@x.io\u{1b}]52;c;evil\u{7}")
        #expect(object["pid"] as? String == "42")
        #expect((object["counts"] as? [String: Any])?["deny"] as? [String] == ["1", "2"])
        let ts = try #require(object["ts"] as? String)
        #expect(ts.hasSuffix("Z") && ts.contains("."))
        #expect(!line.contains("\u{1b}")) // escaped as \u001b, never raw
    }
}
