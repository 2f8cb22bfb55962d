package dev.pocketsr.core

/**
 * Smoothed frames per second for the live overlay: an exponential moving average of the
 * interval between [tick]s ([smoothing] in [0, 1): the weight of the past; 0.9 ~ the last 10
 * frames). Time in nanoseconds (`System.nanoTime`, `ImageProxy.imageInfo.timestamp`).
 */
class FpsMeter(val smoothing: Double = 0.9) {
    init {
        require(smoothing >= 0.0 && smoothing < 1.0) { "smoothing $smoothing is not in [0, 1)" }
    }

    private var last = Long.MIN_VALUE
    private var interval = 0.0

    /** Frames per second so far (0 before the second tick). */
    val fps: Double get() = if (interval > 0.0) 1e9 / interval else 0.0

    /** Records a frame at [nanoTime] and returns [fps]. Non-increasing times are ignored. */
    fun tick(nanoTime: Long): Double {
        if (last != Long.MIN_VALUE && nanoTime > last) {
            val dt = (nanoTime - last).toDouble()
            interval = if (interval == 0.0) dt else smoothing * interval + (1 - smoothing) * dt
        }
        if (last == Long.MIN_VALUE || nanoTime > last) last = nanoTime
        return fps
    }
}

/** Latency summary of a benchmark, milliseconds (device report `latency_ms`). */
data class LatencyMs(val runs: Int, val warmup: Int, val median: Double, val min: Double, val max: Double, val p90: Double)

object LatencyStats {
    /**
     * [ms]: every run's time in ms, warm-up runs first; the first [warmup] are left out.
     * Median of an even count is the mean of the middle two; p90 the nearest-rank percentile.
     * Throws [IllegalArgumentException] when no timed run is left.
     */
    fun summarize(ms: List<Double>, warmup: Int): LatencyMs {
        require(warmup >= 0 && ms.size > warmup) { "${ms.size} runs with $warmup warm-up: nothing timed" }
        val t = ms.drop(warmup).sorted()
        val n = t.size
        val median = if (n % 2 == 1) t[n / 2] else (t[n / 2 - 1] + t[n / 2]) / 2
        val p90 = t[maxOf(0, Math.ceil(0.9 * n).toInt() - 1)]
        return LatencyMs(n, warmup, median, t.first(), t.last(), p90)
    }
}
