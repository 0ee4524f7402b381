/// A value an operator gave that no rule can hold, and why, in words they can act on.
package struct InvalidValue: Error, Equatable, Sendable, CustomStringConvertible {
    package let description: String

    package init(_ description: String) { self.description = description }

    /// Spelled as the store's error is: `throw .invalidValue("not a rate: ...")`.
    package static func invalidValue(_ why: String) -> InvalidValue { InvalidValue(why) }
}
