import ActionsFuzzHarness
import Foundation

// SwiftPM links an executable's entry point as its `main`, so libFuzzer's own main is not used:
// this one hands control to libFuzzer's driver, which then calls `fuzzOne` for every input.

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The target named by FUZZ_TARGET (json, context, signature-header, signed-response, config,
/// theme, sanitizer), chosen once: one binary serves every target.
nonisolated(unsafe) let target: ([UInt8]) -> Void = {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    guard let target = FuzzHarness.targets[name] else {
        fatalError("set FUZZ_TARGET to one of \(FuzzHarness.targets.keys.sorted().joined(separator: ", "))")
    }
    return target
}()

let fuzzOne: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { data, size in
    target(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// libFuzzer's archive also brings its own main, which calls this; the linker keeps ours, but the
/// symbol must exist either way.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzOne(data, size)
}

@main
enum FuzzMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
    }
}
