import Foundation
import Testing
import ActionsTestSupport
@testable import ActionsProtocol

@Suite struct JSONReaderTests {
    func read(_ text: String) throws(JSON.SyntaxError) -> JSON.Object { try JSON.object(Array(text.utf8)) }

    @Test(arguments: [
        #"{}"#,
        #" {"a" : 1 , "b":[1,-2.5e+3,0.1E2,true,false,null,{"c":[]}], "d":"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"} "#,
        #"{"deep":[[[[[[[[[[{"x":{}}]]]]]]]]]]}"#,
        #"{"":0,"-0":-0,"e":1e5}"#,
        "{\"raw\":\"caf\u{e9} \u{1F600}\"}",
    ])
    func acceptsWhatFoundationAccepts(_ text: String) throws {
        #expect(throws: Never.self) { try read(text) }
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil)
    }

    @Test(arguments: [
        ("", "expected a JSON object"),
        ("[1]", "expected a JSON object"),
        (#""text""#, "expected a JSON object"),
        ("{not json", "expected a string"),
        (#"{"a":1,}"#, "expected a string"),
        (#"{"a":1 "b":2}"#, "expected ',' or '}' in an object"),
        (#"{'a':1}"#, "expected a string"),
        (#"{"a":01}"#, "expected ',' or '}' in an object"),
        (#"{"a":1.}"#, "expected a digit"),
        (#"{"a":-}"#, "expected a digit"),
        (#"{"a":tru}"#, "invalid literal"),
        (#"{"a":NaN}"#, "unexpected character 'N'"),
        (#"{"a":"\x"}"#, "invalid escape '\\x'"),
        (#"{"a":"\u12"}"#, "expected 4 hex digits after \\u"),
        (#"{"a":"\ud800"}"#, "unpaired high surrogate"),
        (#"{"a":"\udc00"}"#, "unpaired low surrogate"),
        ("{\"a\":\"line\nbreak\"}", "raw control character in a string"),
        (#"{"a":"open}"#, "unterminated string"),
        (#"{"a":[1,2}"#, "expected ',' or ']' in an array"),
        (#"{"a":1} {}"#, "unexpected text after the JSON value"),
        (#"{"a":1"#, "unterminated object"),
    ])
    func refusesInvalidDocumentsWithAReason(_ text: String, _ reason: String) {
        #expect { try read(text) } throws: { ($0 as? JSON.SyntaxError)?.reason == reason }
        // Foundation tolerates a trailing comma; RFC 8259 does not, and neither do we.
        if text != #"{"a":1,}"# {
            #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] == nil)
        }
    }

    /// Found by the fuzzer (Fuzz/Corpus/json/crash-lone-utf8-lead-byte): JSON text is UTF-8.
    @Test(arguments: [[0xE3], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xFF]] as [[UInt8]])
    func refusesMalformedUTF8InStrings(_ sequence: [UInt8]) {
        let document = Array(#"{"a":""#.utf8) + sequence + Array(#""}"#.utf8)
        #expect { try JSON.object(document) } throws: { ($0 as? JSON.SyntaxError)?.reason == "invalid UTF-8 in a string" }
        #expect((try? JSONSerialization.jsonObject(with: Data(document))) == nil)
        // As a key too.
        let key = Array(#"{""#.utf8) + sequence + Array(#"":1}"#.utf8)
        #expect(throws: JSON.SyntaxError.self) { try JSON.object(key) }
    }

    /// Found by the fuzzer (Fuzz/Corpus/json/crash-number-out-of-range).
    @Test(arguments: ["5e4444444444444444444444444443", "-1e309", "1" + String(repeating: "0", count: 400)])
    func refusesNumbersNoDoubleCanHold(_ number: String) {
        let document = Array(#"{"n":\#(number)}"#.utf8)
        #expect { try JSON.object(document) } throws: { ($0 as? JSON.SyntaxError)?.reason == "number out of range" }
        #expect((try? JSONSerialization.jsonObject(with: Data(document))) == nil)
    }

    @Test func acceptsLongNumbersThatFit() throws {
        let object = try JSON.object(Array(#"{"n":123456789012345678901234567890,"x":-1.5e308,"t":0.000000000000000000001}"#.utf8))
        #expect(object.members.count == 3)
    }

    @Test func acceptsEveryWellFormedUTF8Length() throws {
        let text = "{\"k\u{e9}\":\"\u{7f}\u{80}\u{7ff}\u{800}\u{fffd}\u{10000}\u{10ffff}\u{d7ff}\u{e000}\"}"
        let object = try JSON.object(Array(text.utf8))
        #expect(object.members.first.map { object.string($0.value) } == "\u{7f}\u{80}\u{7ff}\u{800}\u{fffd}\u{10000}\u{10ffff}\u{d7ff}\u{e000}")
    }

    @Test func refusesNestingBeyondTheLimitWithoutCrashing() {
        let deep = "{\"a\":" + String(repeating: "[", count: 60_000) + String(repeating: "]", count: 60_000) + "}"
        #expect { try read(deep) } throws: { ($0 as? JSON.SyntaxError)?.reason == "nesting deeper than 512 levels" }
        let fine = "{\"a\":" + String(repeating: "[", count: 500) + String(repeating: "]", count: 500) + "}"
        #expect(throws: Never.self) { try read(fine) }
    }

    @Test func ignoresAByteOrderMark() throws {
        let object = try JSON.object([0xEF, 0xBB, 0xBF] + Array(#"{"a":"b"}"#.utf8))
        #expect(object["a"].flatMap(object.string) == "b")
    }

    @Test func decodesStringsAsFoundationDoes() throws {
        let text = #"{"s":"tab\there \"q\" \\ \/ \u00e9 \u4e2d \ud83d\ude00 \u0000 end","plain":"café 😀"}"#
        let object = try read(text)
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String])
        #expect(object["s"].flatMap(object.string) == reference["s"])
        #expect(object["plain"].flatMap(object.string) == reference["plain"])
    }

    @Test func readsTypedMembersAndTheirExactBytes() throws {
        let text = #"{"n": 1700000000123, "f": 1.5, "t": true, "no": false, "z": null, "o": {"k": "v", "j": "last"}, "a": [1]}"#
        let object = try read(text)
        #expect(object["n"].flatMap(object.integer) == 1_700_000_000_123)
        #expect(object["f"].flatMap(object.integer) == nil)
        #expect(object["t"].flatMap(object.bool) == true)
        #expect(object["no"].flatMap(object.bool) == false)
        #expect(object["z"]?.kind == .null)
        #expect(object["missing"] == nil)
        let nested = try #require(object["o"])
        #expect(String(decoding: object.bytes[nested.range], as: UTF8.self) == #"{"k": "v", "j": "last"}"#)
        let inner = object.object(nested)
        #expect(inner["j"].flatMap(inner.string) == "last")
        #expect(object["a"]?.kind == .array)
    }

    /// I-JSON (RFC 7493): member names are unique at every depth, compared as the text they spell;
    /// parsers disagree on which of two wins, so a body with a repeated name is refused.
    @Test(arguments: [
        #"{"k": 1, "k": 2}"#, #"{"o": {"k": "v", "k": "last"}}"#, #"{"a": [{"x": 1, "x": 1}]}"#,
        #"{"id": 1, "\u0069d": 2}"#, #"{"a":{"b":{"c":{"d":1,"d":2}}}}"#,
    ])
    func refusesRepeatedMemberNames(_ text: String) {
        #expect(throws: JSON.SyntaxError.self) { try read(text) }
    }

    @Test func manyMembersAreCheckedInLinearTime() throws {
        let members = (0..<100_000).map { #""k\#($0)":1"# }.joined(separator: ",")
        let start = ContinuousClock.now
        _ = try read("{" + members + "}")
        #expect(throws: JSON.SyntaxError.self) { try read("{" + members + #","k99999":2}"#) }
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    /// Keys are compared as bytes, escaped ones as text; objects nested two deep and more are read
    /// on demand, and give what the first level gives.
    @Test func findsEscapedKeysAndObjectsAtEveryDepth() throws {
        let text = #"{"\u0069d": "x", "\"q\"": 1, "a": {"b": {"c": {"d": "deep"}}, "k": "v"}, "e": {}}"#
        let object = try read(text)
        #expect(object["id"].flatMap(object.string) == "x")
        #expect(object[#""q""#].flatMap(object.integer) == 1)
        #expect(object.members.map { object.key(of: $0) } == ["id", #""q""#, "a", "e"])
        let a = object.object(try #require(object["a"]))
        #expect(a["k"].flatMap(a.string) == "v")
        let b = a.object(try #require(a["b"]))
        let c = b.object(try #require(b["c"]))
        #expect(c["d"].flatMap(c.string) == "deep")
        #expect(object.object(try #require(object["e"])).members.isEmpty)
        #expect(object["i"] == nil && object["idd"] == nil && object[""] == nil)
    }

    /// Thousands of one-byte mutations of a real context: the reader never crashes, and it accepts
    /// exactly what Foundation accepts, except the trailing commas Foundation tolerates.
    @Test func agreesWithFoundationOnMutatedDocuments() {
        let seed = Array(#"{"id":"01J","user":{"email":"a@b.io","email_verified":true,"n":-1.5e3},"list":[1,null,"\u00e9"],"x":false}"#.utf8)
        let alphabet = Array(#"{}[]:,"\ -0123456789.eEtrufalsn\u"#.utf8) + [0x00, 0x0a, 0x7f, 0xc3]
        var generator = SeededGenerator(seed: 2026)
        var disagreements: [String] = []
        for _ in 0..<5000 {
            var bytes = seed
            let at = Int(generator.next() % UInt64(bytes.count))
            let byte = alphabet[Int(generator.next() % UInt64(alphabet.count))]
            switch generator.next() % 3 {
            case 0: bytes.remove(at: at)
            case 1: bytes.insert(byte, at: at)
            default: bytes[at] = byte
            }
            guard String(validating: bytes, as: UTF8.self) != nil else { continue } // the server refuses these first
            let ours = (try? JSON.object(bytes)) != nil
            let foundation = (try? JSONSerialization.jsonObject(with: Data(bytes))) is [String: Any]
            let text = String(decoding: bytes, as: UTF8.self)
            let trailingComma = text.range(of: #",\s*[}\]]"#, options: .regularExpression) != nil
            if ours != foundation && !(foundation && trailingComma) { disagreements.append(text) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }
}


/// The string scanner skips eight bytes at a time while none can end a plain run: a byte it must
/// stop at (a control, `"`, `\`, anything past ASCII) may never hide in a skipped word.
@Suite struct JSONWordSkipTests {
    static func special(_ byte: UInt8) -> Bool { byte < 0x20 || byte >= 0x80 || byte == 0x22 || byte == 0x5C }

    @Test func noByteThatEndsARunIsSkipped() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200_000 {
            // Mostly printable ASCII, with now and then any byte at all.
            let bytes = (0..<8).map { _ in
                Int.random(in: 0..<10, using: &generator) == 0 ? UInt8.random(in: 0...255, using: &generator)
                    : UInt8.random(in: 0x20...0x7E, using: &generator)
            }
            let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            if bytes.contains(where: Self.special) { #expect(JSON.Cursor.mayEndPlainRun(word), "\(bytes)") }
        }
        // Each byte value at each place, in a word of plain letters, and beside the bytes nearest it.
        for place in 0..<8 {
            for value in 0...255 {
                for neighbour: UInt8 in [0x20, 0x21, 0x7E, UInt8(ascii: "a")] {
                    var bytes = [UInt8](repeating: neighbour, count: 8)
                    bytes[place] = UInt8(value)
                    let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    #expect(JSON.Cursor.mayEndPlainRun(word) == bytes.contains(where: Self.special), "\(bytes)")
                }
            }
        }
    }

    @Test func stringsAcrossWordBoundariesReadAsBefore() throws {
        for length in 0..<40 {
            for special in ["\\n", "\\\"", "\\u00e9", "é", "\\\\"] {
                for place in 0...length {
                    var text = String(repeating: "x", count: length)
                    text.insert(contentsOf: special, at: text.index(text.startIndex, offsetBy: place))
                    let object = try JSON.object(Array("{\"k\":\"\(text)\",\"n\":1}".utf8))
                    let expected = text.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\\"", with: "\"")
                        .replacingOccurrences(of: "\\u00e9", with: "é").replacingOccurrences(of: "\\\\", with: "\\")
                    #expect(object["k"].flatMap(object.string) == expected)
                    #expect(object["n"]?.kind == .number)
                }
            }
        }
        // A raw control character is still refused, wherever it falls in a word.
        for place in 0..<20 {
            var bytes = Array("{\"k\":\"\(String(repeating: "x", count: 20))\"}".utf8)
            bytes[6 + place] = 0x01
            #expect(throws: JSON.SyntaxError.self) { try JSON.object(bytes) }
        }
    }
}
