package dev.pocketsr.core

import java.nio.ByteBuffer
import kotlin.random.Random

/**
 * JVM micro-benchmark of the per-frame work the Android app owns in live mode (issue 15):
 * a 320x180 RGBA_8888 camera frame (row stride padded to 1344 bytes) -> the 180x320 float
 * input of the artifact, and the 720x1280 float output -> ARGB display pixels. Not the model.
 *
 * Usage: `FrameBenchmark [maxRatio]` — prints the median of each part over many runs after
 * warm-up, and of a baseline pass measured in the same loop: one read of every output float and
 * one write of every display int, the memory traffic any output conversion has. Exits 1 when
 * input + output exceed `maxRatio` (default 6) times the baseline: a ratio within one run holds
 * on a loaded or slower machine, where milliseconds do not (the same code measured 3.6-5.6 ms
 * idle and 15 ms with two conversions running), and still catches a slow path (the `Math.rint`
 * rounding this replaced was 2.7x slower). Milliseconds are printed for information: JVM
 * numbers on this machine; a phone's ART and CPU differ (measure there with the app's overlay).
 */
object FrameBenchmark {
    private inline fun timeMs(block: () -> Unit): Double {
        val t0 = System.nanoTime()
        block()
        return (System.nanoTime() - t0) / 1e6
    }

    private fun median(xs: DoubleArray): Double = xs.sorted().let { (it[(it.size - 1) / 2] + it[it.size / 2]) / 2 }

    /** The baseline: read three floats and write one int per pixel, no conversion. */
    private fun baseline(out: FloatArray, dst: IntArray) {
        var o = 0
        for (i in dst.indices) {
            dst[i] = java.lang.Float.floatToRawIntBits(out[o]) xor java.lang.Float.floatToRawIntBits(out[o + 1]) xor
                java.lang.Float.floatToRawIntBits(out[o + 2])
            o += 3
        }
    }

    @JvmStatic
    fun main(args: Array<String>) {
        val maxRatio = args.getOrNull(0)?.toDouble() ?: 6.0
        val rnd = Random(3)
        val w = 320
        val h = 180
        val stride = 1344
        val frame = ByteBuffer.allocateDirect(stride * h)
        for (i in 0 until frame.capacity()) frame.put(i, rnd.nextInt(256).toByte())
        val pre = FramePreprocessor(h, w)
        val input = FloatArray(h * w * 3)
        val input8 = ByteArray(h * w * 3)
        val preview = IntArray(h * w)
        val output = FloatArray(h * 4 * w * 4 * 3) { rnd.nextFloat() * 1.2f - 0.1f }
        val display = IntArray(h * 4 * w * 4)
        val warmup = 200
        val runs = 300
        val tin = DoubleArray(runs)
        val tin8 = DoubleArray(runs)
        val trot = DoubleArray(runs)
        val tout = DoubleArray(runs)
        val tbase = DoubleArray(runs)
        val sink = IntArray(h * 4 * w * 4)
        for (i in 0 until warmup + runs) {
            val a = timeMs { pre.toFloat(frame, w, h, stride, 0, input, preview) }
            val b = timeMs { pre.toInt8(frame, w, h, stride, 0, input8, null) }
            val c = timeMs { OutputPixels.floatToArgb(output, display) }
            val d = timeMs { baseline(output, sink) }
            if (i >= warmup) {
                tin[i - warmup] = a
                tin8[i - warmup] = b
                tout[i - warmup] = c
                tbase[i - warmup] = d
            }
        }
        // a portrait phone: the sensor's 320x180 frame arrives with rotation 90 -> a 320x180 (h x w) input
        val portrait = FramePreprocessor(w, h)
        val inputP = FloatArray(h * w * 3)
        for (i in 0 until warmup + runs) {
            val a = timeMs { portrait.toFloat(frame, w, h, stride, 90, inputP, null) }
            if (i >= warmup) trot[i - warmup] = a
        }
        // a frame that must be resampled: 640x480 -> centre crop 640x360 -> 180x320, bilinear
        val big = ByteBuffer.allocateDirect(640 * 4 * 480)
        val tres = DoubleArray(runs)
        for (i in 0 until warmup + runs) {
            val a = timeMs { pre.toFloat(big, 640, 480, 640 * 4, 0, input, preview) }
            if (i >= warmup) tres[i - warmup] = a
        }
        val total = median(tin) + median(tout)
        println("per-frame work, median of $runs runs after $warmup warm-up (JVM ${System.getProperty("java.version")}):")
        println("  RGBA 320x180 (stride $stride) -> 180x320 float input + preview: %.3f ms".format(median(tin)))
        println("  RGBA 320x180 -> 180x320 int8-full input:                      %.3f ms".format(median(tin8)))
        println("  RGBA 320x180 rotated 90 -> 320x180 float input:               %.3f ms".format(median(trot)))
        println("  RGBA 640x480 -> 180x320 float input, bilinear (not in the total): %.3f ms".format(median(tres)))
        println("  720x1280 float output -> ARGB display pixels:                 %.3f ms".format(median(tout)))
        println("  baseline: read the output floats, write the display ints:     %.3f ms".format(median(tbase)))
        val ratio = total / median(tbase)
        println("  input + output: %.3f ms = %.2fx the baseline (at most %.1fx)".format(total, ratio, maxRatio))
        if (ratio > maxRatio) {
            println("FAILED: per-frame work is %.2fx the baseline pass, above %.1fx".format(ratio, maxRatio))
            System.exit(1)
        }
    }
}
