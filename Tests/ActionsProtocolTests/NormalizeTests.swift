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

    /// UTS #46 as libidn2 applies it, pinned by the forms that matter: every one of these would
    /// otherwise slip past a deny entry for the plain spelling.
    @Test(arguments: [
        "example\u{3002}com", "example\u{FF0E}com", "example\u{FF61}com",   // the other full stops
        "exam\u{AD}ple.com", "exam\u{200B}ple.com", "ex\u{2060}ample.com", // ignored: soft hyphen, zero widths
        "EXAMPLE.COM", "ｅｘａｍｐｌｅ．ｃｏｍ", "example.com.",
    ])
    func uts46SpellingsLandOnTheDomain(_ spelling: String) throws {
        #expect(try Normalize.checkedDomain(spelling) == "example.com")
        #expect(Normalize.domain(spelling) == "example.com")
        #expect(Normalize.emailAndDomain("eve@" + spelling).domain == "example.com")
    }

    @Test func nonTransitionalProcessingAndPunycode() throws {
        // Non-transitional: ß and the zero-width joiner in context are kept (and encoded), not mapped away.
        #expect(try Normalize.checkedDomain("faß.de") == "xn--fa-hia.de")
        #expect(try Normalize.checkedDomain("xn--fa-hia.de") == "xn--fa-hia.de")
        #expect(try Normalize.checkedDomain("例え。テスト") == "xn--r8jz45g.xn--zckzah")
        // RFC 3492's samples, through the library.
        #expect(try Normalize.checkedDomain("3年b組金八先生.jp") == "xn--3b-ww4c5e180e575a65lsy2b.jp")
    }

    @Test(arguments: ["a..b.com", "xn--zz.com", "exa mple.com", "a\u{0}b.com", "\u{202E}moc.elpmaxe", "-.com",
                      "bücher.de...", "example.com.\u{3002}", "example\u{FF0E}com..", ".see.."])
    func refusedDomainsAreErrorsNotGuesses(_ domain: String) {
        // Under STD3's hostname rules (deny and allow entries) every one of these is refused.
        #expect(throws: IdentityError.self, "\(domain.debugDescription)") { try Normalize.checkedDomain(domain, hostname: true) }
    }

    @Test func unicodeDomainsUTS46RefusesAreRefusedForRequestsToo() {
        // Repeated trailing dots (empty labels) would make a spelling no exact entry matches.
        for domain in ["\u{202E}moc.elpmaxe", "a\u{0}b.com", "xn--zz.com", "ex\u{E000}ample.com", "bücher.de...",
                       "example.com.\u{3002}", "example.com\u{3002}\u{3002}", "example\u{FF0E}com.."] {
            #expect(throws: IdentityError.self, "\(domain.debugDescription)") { try Normalize.checkedEmailAndDomain("eve@" + domain) }
        }
    }

    /// Sizes are refused before any other work: a 63 KB domain of distinct CJK characters took
    /// a second of CPU in the hand-written punycode.
    @Test func hostileSizesAreRefusedFirst() throws {
        let cjk = String(String.UnicodeScalarView((0x4E00..<(0x4E00 + 21_000)).compactMap(Unicode.Scalar.init)))
        let start = ContinuousClock.now
        #expect(throws: IdentityError.tooLong(what: "email", octets: 63_004, limit: 254)) { try Normalize.checkedEmailAndDomain("eve@" + cjk) }
        #expect(throws: IdentityError.self) { try Normalize.checkedDomain(cjk) }
        _ = Normalize.domain(cjk)
        // A second of CPU in a release build before sizes were checked first; now microseconds.
        #expect(ContinuousClock.now - start < .seconds(1))
        let label = String(repeating: "a", count: 64)
        #expect(throws: IdentityError.tooLong(what: "label", octets: 64, limit: 63)) { try Normalize.checkedDomain(label + ".com") }
        #expect(try Normalize.checkedDomain(String(repeating: "a", count: 63) + ".com").count == 67)
        let long = Array(repeating: String(repeating: "a", count: 50), count: 6).joined(separator: ".")
        #expect(throws: IdentityError.tooLong(what: "domain", octets: 305, limit: 253)) { try Normalize.checkedDomain(long) }
        #expect(throws: IdentityError.tooLong(what: "local part", octets: 65, limit: 64)) {
            try Normalize.checkedEmailAndDomain(String(repeating: "x", count: 65) + "@example.com")
        }
    }
}

/// Every decision takes the ASCII fast path of `checkedEmailAndDomain`: it must answer as the
/// general path does, address for address and refusal for refusal, at every edge it claims.
@Suite struct CheckedEmailFastPathTests {
    static let label63 = String(repeating: "a", count: 63)
    static let edges: [String] = [
        "Eve@Example.COM", "a@b", "a@-b.com", "a@b_c.com", "a@B-1.c0m", "@example.com", "a@", "abc", "a@b.c@d.com",
        "\"q@x\"@example.com", "a@xn--bcher-kva.de", "a@XN--bcher-kva.de", "a@x.Xn--bcher-kva.de", "a@xn-bcher.de",
        "a@xn--zz.com", "a@b..c", "a@.b", "a@b.", "a@b..", "a@*.b.com", "a@[203.0.113.5]", "a@ex ample.com", "a@b/c.com", "a\u{7f}@x.com",
        "a\u{1}@x.com", "é@x.com", "a@bücher.de", "a@ｅxample.com", "a@example。com",
        "a@" + label63 + ".com", "a@" + label63 + "a.com", "a@" + label63,
        String(repeating: "x", count: 64) + "@example.com", String(repeating: "x", count: 65) + "@example.com",
        // A 253-octet domain, and one past it; a 254-octet address, and one past it.
        "a@" + [label63, label63, label63, String(repeating: "d", count: 61)].joined(separator: "."),
        "a@" + [label63, label63, label63, String(repeating: "d", count: 62)].joined(separator: "."),
        String(repeating: "x", count: 60) + "@" + [label63, label63, label63, String(repeating: "d", count: 1)].joined(separator: "."),
        String(repeating: "x", count: 61) + "@" + [label63, label63, label63, String(repeating: "d", count: 1)].joined(separator: "."),
    ]

    @Test(arguments: edges)
    func theFastPathAnswersAsTheGeneralPath(_ email: String) {
        let fast = Result { () throws(IdentityError) in try Normalize.checkedEmailAndDomain(email) }
        let general = Result { () throws(IdentityError) in try Normalize.checkedEmailAndDomain(email, fastPath: false) }
        switch (fast, general) {
        case (.success(let a), .success(let b)): #expect(a.email == b.email && a.domain == b.domain, "\(email.debugDescription)")
        case (.failure(let a), .failure(let b)): #expect(a == b, "\(email.debugDescription)")
        default: Issue.record("\(email.debugDescription): fast \(fast), general \(general)")
        }
    }

    /// Found in review: the domain was taken from the character after the `@`, and a combining
    /// mark joins the `@` into one character, so it went unchecked and `evil.com` came out.
    @Test func aCombiningMarkAfterTheAtIsPartOfTheDomain() {
        #expect(throws: IdentityError.self) { try Normalize.checkedEmailAndDomain("eve@\u{301}evil.com") }
        #expect(Normalize.emailAndDomain("eve@\u{301}evil.com").domain != "evil.com")
        #expect(Normalize.emailDomain("eve@\u{301}evil.com") != "evil.com")
    }

    @Test func plainAddressesAreLowerCasedWithTheirDomain() throws {
        let checked = try Normalize.checkedEmailAndDomain("Eve.Smith+Tag@Mail.Example.COM")
        #expect(checked.email == "eve.smith+tag@mail.example.com" && checked.domain == "mail.example.com")
    }
}

/// Found in review: what libidn2 maps to ASCII punctuation, and a wildcard whose ACE form passes 253.
@Suite struct IDNAOutputTests {
    @Test(arguments: ["evil\u{FF0F}x.com", "x\u{FF20}gmail.com", "evil.com\u{FF1A}25", "evil.com\u{3000}", "\u{FF0A}.evil.com",
                      "evil.com\u{0600}."])
    func mappedPunctuationIsRefused(_ domain: String) {
        #expect(throws: IdentityError.self, "\(domain.debugDescription)") { try Normalize.checkedDomain(domain) }
        #expect(throws: IdentityError.self) { try Normalize.checkedEmailAndDomain("eve@" + domain) }
    }

    @Test func aWildcardIsHeldTo253OctetsWithItsPrefix() {
        let name = "*.ü." + [String(repeating: "a", count: 63), String(repeating: "b", count: 63), String(repeating: "c", count: 63),
                             String(repeating: "d", count: 53)].joined(separator: ".")
        #expect(throws: IdentityError.self) { try Normalize.checkedDomain(name, hostname: true) }
    }
}

/// The ASCII check (the request body's, and Normalize's) reads eight bytes at a time: a high bit
/// anywhere, in a whole word or in the tail, must be seen.
@Suite struct ASCIIBytesTests {
    @Test func aHighBitAtAnyPlaceIsSeen() {
        for length in 0..<40 {
            let ascii = [UInt8](repeating: UInt8(ascii: "a"), count: length)
            #expect(ascii.withUnsafeBytes { ASCIIBytes.isASCII($0) }, "length \(length)")
            for place in 0..<length {
                for byte: UInt8 in [0x80, 0xC3, 0xFF] {
                    var bytes = ascii
                    bytes[place] = byte
                    #expect(!bytes.withUnsafeBytes { ASCIIBytes.isASCII($0) }, "length \(length), 0x\(String(byte, radix: 16)) at \(place)")
                }
            }
        }
    }
}
