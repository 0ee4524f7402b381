import ActionsProtocol
import ActionsDomain
import ActionsStore

extension Renderer {
    /// One action type over the header's window: decisions per second as a bar chart (denials
    /// marked), and the latency histogram, one bar per doubling.
    func drawCharts(_ state: AppState, top: Int, height: Int, into grid: inout Grid) {
        let type = state.chartType
        let stats = state.stats
        grid.fill(x: 0, y: top, width: grid.width, role: .header)
        grid.put(" Charts · \(Self.shortName(type)) · \(stats.window.label) window   Tab other action type · w window · Esc back",
                 x: 0, y: top, role: .header)
        let histogram = stats.latencyHistogram(type, nowMs: state.nowMs)
        let histogramRows = min(max(histogram.count, 1), max(3, (height - 2) / 2))
        let chartRows = max(2, height - 3 - histogramRows)

        // Decisions per second: one column per sparkline point, scaled to the tallest.
        let spark = stats.sparkline(type, nowMs: state.nowMs)
        let secondsPerPoint = Double(stats.windowMs) / 1000 / Double(stats.buckets)
        let rates = spark.decisions.map { Double($0) / secondsPerPoint }
        let peak = max(rates.max() ?? 0, 0.001)
        let label = String(format: "%.1f/s", peak)
        grid.put(" decisions per second, peak \(label) (a red foot: some were denied)", x: 0, y: top + 1, role: .label)
        let points = min(rates.count, grid.width - 8)
        let blocks: [Character] = asciiOnly ? Array(" .:-=+*#") : Array(" ▁▂▃▄▅▆▇█")
        let denials = Array(spark.denials.suffix(points))
        for (index, rate) in rates.suffix(points).enumerated() {
            let denied = denials[index] > 0
            let eighths = Int((rate / peak * Double(chartRows * 8)).rounded())
            for row in 0..<chartRows {
                let filled = eighths - (chartRows - 1 - row) * 8
                guard filled > 0 else { continue }
                let level = min(8, filled)
                grid.put(String(blocks[asciiOnly ? min(7, level) : level]), x: 2 + index, y: top + 2 + row,
                         role: denied && row == chartRows - 1 ? .deny : .sparkAllow)
            }
        }

        // Latency: a bar per doubling, scaled to the fullest.
        let histTop = top + 3 + chartRows
        grid.put(" latency (\(stats.window(type, nowMs: state.nowMs).total) decisions)", x: 0, y: histTop - 1, role: .label)
        guard !histogram.isEmpty else {
            grid.put("   no decisions in the window", x: 0, y: histTop, role: .dim)
            return
        }
        let fullest = max(histogram.map(\.count).max() ?? 1, 1)
        let barWidth = max(10, grid.width - 24)
        for (offset, bin) in histogram.suffix(histogramRows).enumerated() {
            let y = histTop + offset
            grid.put(" <" + DisplayWidth.fit(Self.millis(bin.upToUs), to: 8, alignRight: true), x: 0, y: y, role: .label)
            let length = bin.count == 0 ? 0 : max(1, bin.count * barWidth / fullest)
            grid.put(String(repeating: asciiOnly ? "#" : "█", count: length), x: 12, y: y, role: .sparkAllow)
            grid.put(" \(bin.count)", x: 12 + length, y: y, role: .value)
        }
    }
}
