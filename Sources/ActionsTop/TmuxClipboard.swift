import Foundation

/// tmux takes an application's OSC 52 only with `set-clipboard on`: `external`, its default, and
/// `off` drop it.
enum TmuxClipboard {
    /// True when the tmux this runs in drops an application's clipboard writes (false when tmux
    /// cannot be asked within a second).
    static func isOff() -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tmux", "show-options", "-gv", "set-clipboard"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        let deadline = Date().addingTimeInterval(1)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        guard !process.isRunning else {
            process.terminate()
            return false
        }
        let value = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return value.trimmingCharacters(in: .whitespacesAndNewlines) != "on"
    }
}
