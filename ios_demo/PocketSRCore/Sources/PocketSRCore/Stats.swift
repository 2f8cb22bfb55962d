import Foundation

/// Smoothed frames per second for the live overlay: an exponential moving average of the
/// interval between ticks (`smoothing` in [0, 1): the weight of the past; 0.9 ~ the last 10
/// frames). Times in nanoseconds (e.g. `DispatchTime.now().uptimeNanoseconds` or a sample buffer's
/// presentation time).
public struct FpsMeter: Sendable {
    public let smoothing: Double
    private var last: UInt64?
    private var interval = 0.0

    public init(smoothing: Double = 0.9) {
        precondition(smoothing >= 0 && smoothing < 1, "smoothing \(smoothing) is not in [0, 1)")
        self.smoothing = smoothing
    }

    /// Frames per second so far (0 before the second tick).
    public var fps: Double { interval > 0 ? 1e9 / interval : 0 }

    /// Records a frame at `nanoseconds` and returns ``fps``. Non-increasing times are ignored.
    @discardableResult
    public mutating func tick(nanoseconds: UInt64) -> Double {
        if let last, nanoseconds > last {
            let dt = Double(nanoseconds - last)
            interval = interval == 0 ? dt : smoothing * interval + (1 - smoothing) * dt
        }
        if last == nil || nanoseconds > last! { last = nanoseconds }
        return fps
    }
}

/// Latency summary of a benchmark, milliseconds (device report `latency_ms`).
public struct LatencyMs: Equatable, Sendable {
    public let runs: Int, warmup: Int
    public let median: Double, min: Double, max: Double, p90: Double

    public init(runs: Int, warmup: Int, median: Double, min: Double, max: Double, p90: Double) {
        self.runs = runs
        self.warmup = warmup
        self.median = median
        self.min = min
        self.max = max
        self.p90 = p90
    }
}

public enum LatencyStats {
    /// `ms`: every run's time, warm-up runs first; the first `warmup` are left out. Median of an
    /// even count: mean of the middle two; p90: nearest rank.
    /// - Throws: ``ParityError`` when no timed run is left.
    public static func summarize(_ ms: [Double], warmup: Int) throws -> LatencyMs {
        guard warmup >= 0, ms.count > warmup else {
            throw ParityError(description: "\(ms.count) runs with \(warmup) warm-up: nothing timed")
        }
        let t = ms.dropFirst(warmup).sorted()
        let n = t.count
        let median = n % 2 == 1 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2
        let p90 = t[Swift.max(0, Int((0.9 * Double(n)).rounded(.up)) - 1)]
        return LatencyMs(runs: n, warmup: warmup, median: median, min: t.first!, max: t.last!, p90: p90)
    }
}

/// What live mode does at a thermal state: run every `frameStride`-th camera frame (0: pause the
/// model, show the camera only) and what to tell the user.
public struct ThermalAdvice: Equatable, Sendable {
    public let frameStride: Int
    public let message: String?

    public init(frameStride: Int, message: String?) {
        self.frameStride = frameStride
        self.message = message
    }
}

/// Sustained real-time super-resolution heats a phone; live mode follows
/// `ProcessInfo.ThermalState` (names as in the device report: nominal, fair, serious, critical).
public enum ThermalPolicy {
    public static func advice(for state: String) -> ThermalAdvice {
        switch state {
        case "nominal", "fair": return ThermalAdvice(frameStride: 1, message: nil)
        case "serious": return ThermalAdvice(frameStride: 2, message: "Device is hot: upscaling every 2nd frame")
        case "critical": return ThermalAdvice(frameStride: 0, message: "Device is too hot: upscaling paused")
        default: return ThermalAdvice(frameStride: 1, message: "Thermal state unknown")
        }
    }
}
