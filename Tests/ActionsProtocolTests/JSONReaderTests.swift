import Foundation
import Testing
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

    @Test func refusesNestingBeyondTheLimitWithoutCrashing() {
        let deep = "{\"a\":" + String(repeating: "[", count: 60_000) + String(repeating: "]", count: 60_000) + "}"
        #expect { try read(deep) } throws: { ($0 as? JSON.SyntaxError)?.reason == "nesting deeper than 512 levels" }
        let fine = "{\"a\":" + String(repeating: "[", count: 500) + String(repeating: "]", count: 500) + "}"
        #expect(throws: Never.self) { try read(fine) }
    }

    @Test func decodesStringsAsFoundationDoes() throws {
        let text = #"{"s":"tab\there \"q\" \\ \/ \u00e9 \u4e2d \ud83d\ude00 \u0000 end","plain":"café 😀"}"#
        let object = try read(text)
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String])
        #expect(object["s"].flatMap(object.string) == reference["s"])
        #expect(object["plain"].flatMap(object.string) == reference["plain"])
    }

    @Test func readsTypedMembersAndTheirExactBytes() throws {
        let text = #"{"n": 1700000000123, "f": 1.5, "t": true, "no": false, "z": null, "o": {"k": "v", "k": "last"}, "a": [1]}"#
        let object = try read(text)
        #expect(object["n"].flatMap(object.integer) == 1_700_000_000_123)
        #expect(object["f"].flatMap(object.integer) == nil)
        #expect(object["t"].flatMap(object.bool) == true)
        #expect(object["no"].flatMap(object.bool) == false)
        #expect(object["z"]?.kind == .null)
        #expect(object["missing"] == nil)
        let nested = try #require(object["o"])
        #expect(String(decoding: object.bytes[nested.range], as: UTF8.self) == #"{"k": "v", "k": "last"}"#)
        let inner = object.object(nested)
        #expect(inner["k"].flatMap(inner.string) == "last") // a repeated key resolves to its last value
        #expect(object["a"]?.kind == .array)
    }
}
