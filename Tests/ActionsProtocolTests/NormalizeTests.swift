import Testing
@testable import ActionsProtocol

/// Every spelling an attacker could use to slip past an entry lands on the same key.
@Suite struct NormalizeTests {
    @Test func domainsInEveryForm() {
        for variant in ["example.com", "EXAMPLE.com", "Example.Com.", "ｅｘａｍｐｌｅ.ｃｏｍ", "example.com"] {
            #expect(Normalize.domain(variant) == "example.com", "\(variant)")
        }
        // Internationalized: the Unicode form and the ASCII form are one domain.
        #expect(Normalize.domain("bücher.de") == "xn--bcher-kva.de")
        #expect(Normalize.domain("BÜCHER.DE.") == "xn--bcher-kva.de")
        #expect(Normalize.domain("xn--bcher-kva.de") == "xn--bcher-kva.de")
        // Decomposed ü (u + combining diaeresis) is the same letter.
        #expect(Normalize.domain("bu\u{308}cher.de") == "xn--bcher-kva.de")
        #expect(Normalize.domain("münchen.example") == "xn--mnchen-3ya.example")
        #expect(Normalize.domain("例え.テスト") == "xn--r8jz45g.xn--zckzah")
        #expect(Normalize.domain("*.Bücher.de") == "*.xn--bcher-kva.de")
    }

    @Test func emails() {
        #expect(Normalize.email("Eve@Example.COM.") == "eve@example.com")
        #expect(Normalize.email("ｅｖｅ@bücher.de") == "eve@xn--bcher-kva.de")
        #expect(Normalize.emailDomain("x@Example.com.") == "example.com")
        #expect(Normalize.emailDomain("no-at-sign") == "")
        // Sub-addressing is kept unless folding is on.
        #expect(Normalize.accountKey("A.B+1@Gmail.com", foldAddresses: false) == "a.b+1@gmail.com")
    }

    /// The ASCII fast path against the general one: the local part lower-cased, the domain as
    /// `domain(_:)` makes it (trailing dot and all), joined.
    @Test func asciiEmailsTakeTheFastPathToTheSameResult() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("aZ.@+-_9")
        var samples = ["Eve@Example.COM", "a@b@C.d", "@x.com", "x@", "x@.", "x@y.", "no-at", "A.B+1@Gmail.com.", ""]
        for _ in 0..<5_000 {
            samples.append(String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        for text in samples {
            let result = Normalize.emailAndDomain(text)
            guard let at = text.lastIndex(of: "@") else {
                #expect(result == (text.lowercased(), ""), "\(text)")
                continue
            }
            let domain = Normalize.domain(text[text.index(after: at)...])
            #expect(result == (text[..<at].lowercased() + "@" + domain, domain), "\(text)")
        }
    }

    @Test func foldingSubaddressesAndGmailDots() {
        let key = Normalize.accountKey("ab@gmail.com", foldAddresses: true)
        for variant in ["a.b+1@gmail.com", "A.B@GMAIL.COM", "ab+x@gmail.com.", "a.b@googlemail.com".replacingOccurrences(of: "googlemail", with: "gmail")] {
            #expect(Normalize.accountKey(variant, foldAddresses: true) == key, "\(variant)")
        }
        // Dots matter elsewhere; a tag does not.
        #expect(Normalize.accountKey("a.b+news@example.com", foldAddresses: true) == "a.b@example.com")
        #expect(Normalize.accountKey("a.b@googlemail.com", foldAddresses: true) == "ab@googlemail.com")
        // A local part that is only a tag is left alone.
        #expect(Normalize.accountKey("+x@example.com", foldAddresses: true) == "+x@example.com")
    }

    @Test func punycodeMatchesRFC3492Samples() {
        // RFC 3492 section 7.1 (lower-cased): (A) Arabic and (L) Japanese.
        #expect(Punycode.encode("ليهمابتكلموشعربي؟".unicodeScalars) == "egbpdaj6bu4bxfgehfvwxn")
        #expect(Punycode.encode("3年b組金八先生".unicodeScalars) == "3b-ww4c5e180e575a65lsy2b")
        #expect(Punycode.encode("bücher".unicodeScalars) == "bcher-kva")
    }
}
