package dev.pocketsr.core

import kotlin.math.abs
import kotlin.math.log10

/** The figures of `validate/PARITY.md` section 3 for one golden image. */
data class ParityFigures(
    val psnrDb: Double?, // null: identical or NaN
    val identical: Boolean,
    val nan: Boolean,
    val maxAbs: Double?,
    val changed8bit: Double
)

/** The on-device parity measure, `validate/PARITY.md` version 1. */
object GoldenParity {
    /** `round_half_to_even(clamp(v, 0, 1) * 255)`; NaN is not allowed here. */
    fun u8(v: Double): Int = Math.rint(v.coerceIn(0.0, 1.0) * 255.0).toInt()

    /**
     * [out]: the output window as values (8-bit outputs: level / 255); [golden]: the golden
     * values; both row-major HWC of the same length. [eightBit]: compare with the golden rounded
     * to 8 bits. Throws [IllegalArgumentException] when the lengths differ.
     */
    fun measure(out: DoubleArray, golden: DoubleArray, eightBit: Boolean): ParityFigures {
        require(out.size == golden.size) { "output window has ${out.size} values, golden ${golden.size}" }
        var changed = 0
        var nan = false
        var sum = 0.0
        var maxAbs = 0.0
        for (i in out.indices) {
            val ref = if (eightBit) u8(golden[i]) / 255.0 else golden[i]
            val o = out[i]
            if (o.isNaN()) {
                nan = true
                changed++
                continue
            }
            if (u8(o) != u8(ref)) changed++
            val d = o - ref
            sum += d * d
            maxAbs = maxOf(maxAbs, abs(d))
        }
        val frac = changed.toDouble() / out.size
        if (nan) return ParityFigures(null, false, true, null, frac)
        val mse = sum / out.size
        return ParityFigures(if (mse == 0.0) null else 10.0 * log10(1.0 / mse), mse == 0.0, false, maxAbs, frac)
    }

    /**
     * The window `[y, x, h, w]` of an NHWC float32 output `outW` pixels wide, as values in HWC
     * order (PARITY.md section 1: a float output as is). Throws [IllegalArgumentException] when
     * the window does not fit the output.
     */
    fun windowOfFloat(out: FloatArray, outW: Int, window: List<Int>): DoubleArray {
        val (y0, x0, h, w) = checkWindow(out.size, outW, window)
        val r = DoubleArray(h * w * 3)
        var i = 0
        for (y in y0 until y0 + h) {
            var o = (y * outW + x0) * 3
            for (k in 0 until w * 3) r[i++] = out[o++].toDouble()
        }
        return r
    }

    /** The same for an `int8-full` output: the level `(q - zeroPoint) / 255` (PARITY.md section 1). */
    fun windowOfInt8(out: ByteArray, outW: Int, zeroPoint: Int, window: List<Int>): DoubleArray {
        val (y0, x0, h, w) = checkWindow(out.size, outW, window)
        val r = DoubleArray(h * w * 3)
        var i = 0
        for (y in y0 until y0 + h) {
            var o = (y * outW + x0) * 3
            for (k in 0 until w * 3) r[i++] = (out[o++] - zeroPoint) / 255.0
        }
        return r
    }

    private fun checkWindow(size: Int, outW: Int, window: List<Int>): List<Int> {
        require(window.size == 4 && outW > 0 && size % (outW * 3) == 0) { "bad window $window for an output $outW wide" }
        val outH = size / (outW * 3)
        val (y, x, h, w) = window
        require(y >= 0 && x >= 0 && h > 0 && w > 0 && y + h <= outH && x + w <= outW) {
            "window $window does not fit the ${outH}x$outW output"
        }
        return window
    }

    /** Section 4: every image identical or at least [floorDb], none with NaN. */
    fun passes(figures: List<ParityFigures>, floorDb: Double): Boolean =
        figures.all { !it.nan && (it.identical || (it.psnrDb != null && it.psnrDb >= floorDb)) }
}
