import Foundation

/// Where tests write files: one directory per test process under the system's temporary
/// directory, removed with all it holds when the process exits.
///
/// Why: each test made its own directory under /tmp and left it there. A full run left about
/// 1,300 of them, one of 650 MB (the 3M-row search test), and a machine that ran the suite a few
/// dozen times filled its disk: CI then failed with SQLite's "database or disk is full".
public enum Scratch {
    /// This process's directory (made on first use; removed at exit).
    public static let root: URL = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("actions-tests-\(getpid())-\(UUID().uuidString.prefix(6))")
        make(url)
        ownedRoot = url.path
        atexit {
            if let root = Scratch.ownedRoot { try? FileManager.default.removeItem(atPath: root) }
        }
        return url
    }()

    /// Set once, before `atexit` can run; read only there.
    nonisolated(unsafe) private static var ownedRoot: String?

    /// A new, empty directory of its own for one test (`name` says whose, in a listing).
    public static func directory(_ name: String = "test") -> URL {
        let url = root.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        make(url)
        return url
    }

    /// Stops the run at once with the reason when the directory cannot be made (TMPDIR missing,
    /// the disk full): every test after would fail later, somewhere less clear.
    private static func make(_ url: URL) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            fatalError("cannot make the test directory \(url.path): \(error)")
        }
    }

    /// Removes one test's directory now rather than at exit: for tests that write hundreds of MB.
    public static func remove(_ directory: URL) {
        try? FileManager.default.removeItem(at: directory)
    }
}
