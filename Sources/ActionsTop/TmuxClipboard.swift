import Foundation

/// tmux passes OSC 52 on to the outer terminal only with `set-clipboard` on (or `external`).
enum TmuxClipboard {
    /// True when the tmux this runs in has `set-clipboard off` (false when tmux cannot be asked).
    static func isOff() -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tmux", "show-options", "-gv", "set-clipboard"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "off"
    }
}
