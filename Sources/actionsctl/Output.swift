import ActionsProtocol

/// One line of human-readable output: tab-separated fields, each through the dashboard's
/// sanitizer. Emails, IPs, reasons and messages arrive through the unauthenticated `/v1/events`
/// or from other operators, and must not reach the terminal raw (escape sequences could retitle
/// it, clear it or fake rows; bidi controls could reorder what is read). `--json` output is
/// exact instead: JSON escapes what it must, and a program reads it.
func printRow(_ fields: String...) {
    printRow(fields)
}

func printRow(_ fields: [String]) {
    print(fields.map(TerminalText.escape).joined(separator: "\t"))
}
