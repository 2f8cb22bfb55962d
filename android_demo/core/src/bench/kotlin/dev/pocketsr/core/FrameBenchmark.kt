package dev.pocketsr.core

import java.nio.ByteBuffer
import kotlin.random.Random

/**
 * JVM micro-benchmark of the per-frame work the Android app owns in live mode (issue 15):
 * a 320x180 RGBA_8888 camera frame (row stride padded to 1344 bytes) -> the 180x320 float
 * input of the artifact, and the 720x1280 float output -> ARGB display pixels. Not the model.
 *
 * Usage: `FrameBenchmark [budgetMs]` — prints the median of each part over many runs after
 * warm-up and exits 1 when their sum exceeds the budget (default 5 ms). Numbers are from this
 * JVM on this machine; a phone's ART and CPU differ (measure there with the app's overlay).
 */
object FrameBenchmark {
    private inline fun timeMs(block: () -> Unit): Double {
        val t0 = System.nanoTime()
        block()
        return (System.nanoTime() - t0) / 1e6
    }

    private fun median(xs: DoubleArray): Double = xs.sorted().let { (it[(it.size - 1) / 2] + it[it.size / 2]) / 2 }

    @JvmStatic
    fun main(args: Array<String>) {
        val budget = args.getOrNull(0)?.toDouble() ?: 5.0
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
        for (i in 0 until warmup + runs) {
            val a = timeMs { pre.toFloat(frame, w, h, stride, 0, input, preview) }
            val b = timeMs { pre.toInt8(frame, w, h, stride, 0, input8, null) }
            val c = timeMs { OutputPixels.floatToArgb(output, display) }
            if (i >= warmup) {
                tin[i - warmup] = a
                tin8[i - warmup] = b
                tout[i - warmup] = c
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
        println("  input + output: %.3f ms (budget %.1f ms)".format(total, budget))
        if (total > budget) {
            println("FAILED: per-frame work %.3f ms exceeds the %.1f ms budget".format(total, budget))
            System.exit(1)
        }
    }
}
