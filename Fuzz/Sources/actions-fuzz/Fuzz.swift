import ActionsFuzzHarness
import Foundation

/// The target named by FUZZ_TARGET (json, context, signature-header, signed-response, config,
/// theme, sanitizer), chosen once: one binary serves every target.
let target: @Sendable ([UInt8]) -> Void = {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    guard let target = FuzzHarness.targets[name] else {
        fatalError("set FUZZ_TARGET to one of \(FuzzHarness.targets.keys.sorted().joined(separator: ", "))")
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    target(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
