import Foundation
import ActionsProtocol
import ActionsDomain
import ActionsStore

/// Draws an `AppState` into a `Grid`. Pure: the same state and size give the same cells.
package struct Renderer: Sendable {
    package let timeZone: TimeZone
    package var asciiOnly: Bool

    package init(timeZone: TimeZone = .current, asciiOnly: Bool = false) {
        self.timeZone = timeZone
        self.asciiOnly = asciiOnly
    }

    /// An up or down arrow: the sort order, a trend.
    func arrow(up: Bool) -> String { up ? (asciiOnly ? "^" : "↑") : (asciiOnly ? "v" : "↓") }

    package static let minimumWidth = 80
    package static let minimumHeight = 24
    /// Rows above the table: title, two per action type, column headers.
    static let headerRows = 6
    /// Rows below it: message or prompt, footer.
    static let footerRows = 2

    package static func tableRows(height: Int) -> Int { max(1, height - headerRows - footerRows) }

    package func render(_ state: AppState, width: Int, height: Int) -> Grid {
        var grid = Grid(width: width, height: height)
        guard width >= 20, height >= 5 else {
            grid.put("terminal too small", x: 0, y: 0, role: .warning)
            return grid
        }
        drawTitle(state, into: &grid)
        // The detail view needs every row; the other screens keep the live header.
        let showHeaders = state.screen != .detail
        if showHeaders {
            var y = 1
            for type in ActionType.allCases {
                drawActionHeader(type, state, y: y, into: &grid)
                y += 2
            }
        }
        let bodyTop = showHeaders ? Self.headerRows - 1 : 1
        let bodyHeight = height - bodyTop - Self.footerRows
        switch state.screen {
        case .events: drawEvents(state, top: bodyTop, height: bodyHeight, into: &grid)
        case .detail: drawDetail(state, top: bodyTop, height: bodyHeight, into: &grid)
        case .rules: drawRules(state, top: bodyTop, height: bodyHeight, into: &grid)
        case .lockouts: drawLockouts(state, top: bodyTop, height: bodyHeight, into: &grid)
        case .nodes: drawNodes(state, top: bodyTop, height: bodyHeight, into: &grid)
        case .top: drawAttacks(state, top: bodyTop, height: bodyHeight, into: &grid)
        case .charts: drawCharts(state, top: bodyTop, height: bodyHeight, into: &grid)
        }
        drawMessageLine(state, y: height - 2, into: &grid)
        drawFooter(state, y: height - 1, into: &grid)
        if state.showHelp { drawHelp(state, into: &grid) }
        if width < Self.minimumWidth || height < Self.minimumHeight {
            let note = " \(width)x\(height): 80x24 or larger shows everything "
            grid.put(note, x: max(0, width - DisplayWidth.of(note)), y: 0, role: .warning)
        }
        return grid
    }

    // MARK: Title and headers

    /// An event's local time, `HH:MM:SS` (with `YYYY-MM-DD ` before it when `withDate`). It runs
    /// for every visible row of every frame, so the fields are computed from the zone's offset
    /// at that instant: Calendar.dateComponents and String(format:) were a tenth of a frame.
    func clock(_ ms: Int64, withDate: Bool = false) -> String {
        // Floor division that cannot overflow, even for a corrupt row's Int64.min.
        let utcSeconds = ms >= 0 ? ms / 1000 : (ms + 1) / 1000 - 1
        let local = utcSeconds + Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(utcSeconds))))
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let second = local - days * 86_400
        let time = Self.twoDigits(second / 3600) + ":" + Self.twoDigits(second / 60 % 60) + ":" + Self.twoDigits(second % 60)
        guard withDate else { return time }
        let (year, month, day) = Self.civilDate(daysSince1970: days)
        let yearText = String(year)
        return String(repeating: "0", count: max(0, 4 - yearText.count)) + yearText + "-" + Self.twoDigits(month) + "-" + Self.twoDigits(day) + " " + time
    }

    static func twoDigits(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's civil_from_days).
    static func civilDate(daysSince1970 days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    func drawTitle(_ state: AppState, into grid: inout Grid) {
        grid.fill(x: 0, y: 0, width: grid.width, role: .title)
        var x = grid.put(" actions-top ", x: 0, y: 0, role: .title)
        x += grid.put(clock(state.nowMs) + "  ", x: x, y: 0, role: .title)
        var badges: [(String, Role)] = []
        // The header's window, and how much of it the figures cover when a load was capped.
        let covered = state.stats.coveredSinceMs.map { " covers " + DurationText.text(max(60_000, (state.nowMs - $0) / 60_000 * 60_000)) } ?? ""
        badges.append((" window \(state.stats.window.label)\(covered) ", covered.isEmpty ? .title : .warning))
        if state.paused { badges.append((" PAUSED ", .warning)) }
        if state.readOnly { badges.append((" READ-ONLY ", .readOnly)) }
        let badgeWidth = badges.reduce(0) { $0 + DisplayWidth.of($1.0) + 1 }
        x += grid.put("db " + TerminalText.escape(state.databasePath), x: x, y: 0, role: .title, maxWidth: grid.width - x - badgeWidth - 1)
        var right = grid.width - badgeWidth
        for (text, role) in badges {
            right += grid.put(text, x: right, y: 0, role: role) + 1
        }
    }

    static func shortName(_ type: ActionType) -> String {
        type == .userRegistration ? "registration" : "authentication"
    }

    func drawActionHeader(_ type: ActionType, _ state: AppState, y: Int, into grid: inout Grid) {
        let settings = state.settings[type] ?? ActionSettings(actionType: type)
        let stats = state.stats.window(type, nowMs: state.nowMs)
        var x = grid.put(" " + DisplayWidth.fit(Self.shortName(type), to: 14), x: 0, y: y, role: .header)
        let open = settings.errorMode == .failOpen
        x += grid.put(open ? " FAIL-OPEN   " : " FAIL-CLOSED ", x: x, y: y, role: open ? .failOpen : .failClosed)
        x += 1
        let (endpointText, endpointRole) = endpointHealth(type, settings, state)
        x += grid.put(DisplayWidth.fit(endpointText, to: 16), x: x, y: y, role: endpointRole)
        x += grid.put(String(format: "%5.1f/s ", stats.perSecond), x: x, y: y, role: .value)
        let total = max(stats.total, 1)
        x += grid.put("allow ", x: x, y: y, role: .label)
        x += grid.put("\(stats.allowed) \(stats.allowed * 100 / total)%  ", x: x, y: y, role: .allow)
        x += grid.put("deny ", x: x, y: y, role: .label)
        grid.put("\(stats.denied) \(stats.denied * 100 / total)%", x: x, y: y, role: stats.denied > 0 ? .deny : .value)

        // Second row: latency, failures by outcome, sparklines of decisions and denials per second.
        let row = y + 1
        // An empty window has no latency: a dash, not a p50 of 0.00ms.
        let empty = stats.total == 0, dash = asciiOnly ? "-" : "–"
        x = grid.put("   p50 ", x: 0, y: row, role: .label)
        x += grid.put(empty ? dash : Self.millis(stats.p50Us), x: x, y: row, role: .value)
        x += grid.put(" p95 ", x: x, y: row, role: .label)
        x += grid.put(empty ? dash : Self.millis(stats.p95Us), x: x, y: row, role: .value)
        x += grid.put(" p99 ", x: x, y: row, role: .label)
        x += grid.put((empty ? dash : Self.millis(stats.p99Us)) + " ", x: x, y: row, role: .value)
        let failures = stats.failures.sorted { $0.value > $1.value }.map { "\(Self.shortOutcome($0.key)) \($0.value)" }
        let failureText = failures.isEmpty ? " no failures " : " " + failures.joined(separator: " ") + " "
        let sparkRoom = max(0, grid.width - x - 18)
        x += grid.put(failureText, x: x, y: row, role: failures.isEmpty ? .ok : .warning, maxWidth: max(0, grid.width - x - 26))
        let spark = state.stats.sparkline(type, nowMs: state.nowMs)
        let sparkWidth = max(0, min((grid.width - x - 12) / 2, 60))
        guard sparkWidth >= 4, sparkRoom > 0 else { return }
        x += 1
        x += grid.put(sparkline(Array(spark.decisions.suffix(sparkWidth))), x: x, y: row, role: .sparkAllow)
        x += grid.put(" dec ", x: x, y: row, role: .dim)
        x += grid.put(sparkline(Array(spark.denials.suffix(sparkWidth))), x: x, y: row, role: .sparkDeny)
        grid.put(" deny", x: x, y: row, role: .dim)
    }

    func endpointHealth(_ type: ActionType, _ settings: ActionSettings, _ state: AppState) -> (String, Role) {
        guard settings.activeEndpoint != nil else { return ("local policy", .dim) }
        let circuit = state.circuits[type] ?? CircuitState(actionType: type)
        switch circuit.phase {
        case .open: return ("circuit OPEN", .error)
        case .halfOpen: return ("circuit probing", .warning)
        case .closed:
            if circuit.consecutiveFailures > 0 { return ("endpoint \(circuit.consecutiveFailures) fail", .warning) }
            return ("endpoint ok", .ok)
        }
    }

    /// A row count in few columns: 950, 40k, 3.4M, 120M.
    static func count(_ n: Int64) -> String {
        switch n {
        case ..<1000: return "\(n)"
        case ..<1_000_000: return "\(n / 1000)k"
        case ..<10_000_000: return String(format: "%.1fM", Double(n) / 1_000_000)
        default: return "\(n / 1_000_000)M"
        }
    }

    static func millis(_ micros: Int64) -> String {
        // Integer arithmetic, not String(format:): this runs for every visible row of every frame.
        if micros < 0 { return "-" + millis(micros == .min ? .max : -micros) }
        if micros >= 100_000 { return "\(micros / 1000)ms" }
        if micros < 1000 {
            let hundredths = (micros + 5) / 10
            return "\(hundredths / 100)." + twoDigits(hundredths % 100) + "ms"
        }
        let tenths = (micros + 50) / 100
        return "\(tenths / 10).\(tenths % 10)ms"
    }

    static func shortOutcome(_ outcome: Outcome) -> String {
        switch outcome {
        case .ok: return "ok"
        case .timeout: return "timeout"
        case .connectError: return "refused"
        case .httpStatus: return "http"
        case .badSignature: return "badsig"
        case .invalidResponse: return "badresp"
        case .circuitOpen: return "circuit"
        case .invalidRequest: return "invalid"
        case .unauthorized: return "401"
        case .logUnavailable: return "nolog"
        }
    }

    func sparkline(_ values: [Int]) -> String {
        let levels: [Character] = asciiOnly ? Array(" .:-=+*#") : Array(" ▁▂▃▄▅▆▇█")
        let peak = max(values.max() ?? 0, 1)
        return String(values.map { value in
            value == 0 ? levels[0] : levels[max(1, min(levels.count - 1, (value * (levels.count - 1) + peak - 1) / peak))]
        })
    }
}
