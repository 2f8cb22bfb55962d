package dev.pocketsr.core

import kotlin.math.abs
import kotlin.math.log10

/** The figures of `validate/PARITY.md` section 3 for one golden image. */
data class ParityFigures(
    val psnrDb: Double?, // null: identical or NaN
    val identical: Boolean,
    val nan: Boolean,
    val maxAbs: Double?,
    val changed8bit: Double,
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

    /** Section 4: every image identical or at least [floorDb], none with NaN. */
    fun passes(figures: List<ParityFigures>, floorDb: Double): Boolean =
        figures.all { !it.nan && (it.identical || (it.psnrDb != null && it.psnrDb >= floorDb)) }
}
