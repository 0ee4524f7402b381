import Testing
import Foundation
import ActionsFuzzHarness

/// Replays the kept fuzz corpus (seeds, and every input that once crashed a parser) through the
/// same harness libFuzzer drives, so what the fuzzer found stays fixed. The campaigns themselves
/// run outside CI (scripts/fuzz).
@Suite struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus")

    @Test(arguments: FuzzHarness.targets.keys.sorted())
    func corpusReplays(target: String) throws {
        let directory = Self.corpus.appendingPathComponent(target)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(!files.isEmpty, "no corpus for \(target)")
        let run = try #require(FuzzHarness.targets[target])
        for file in files {
            run(Array(try Data(contentsOf: directory.appendingPathComponent(file))))
        }
    }
}
