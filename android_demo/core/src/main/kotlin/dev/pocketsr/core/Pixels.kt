package dev.pocketsr.core

/** Pixel rules of validate/TILING.md#pixels (version 1). */
object Pixels {
    private val toFloat = FloatArray(256) { it / 255f }

    /** 8-bit level (0..255) -> model input value `v / 255` in float32. */
    fun u8ToFloat(v: Int): Float = toFloat[v]

    /**
     * Model output value -> 8-bit level: `round_half_to_even(clamp(x, 0, 1) * 255)`, product in
     * float32; NaN -> 0. Rounding adds and subtracts 1.5 * 2^23: for 0 <= v < 2^22 the sum's
     * float32 spacing is 1, so IEEE round-to-nearest-even rounds v exactly as `rint` (and 3x
     * faster than `Math.rint` on a double in the live loop).
     */
    @Suppress("NOTHING_TO_INLINE")
    inline fun floatToU8(x: Float): Int {
        // branch-free clamp (min/max are single instructions); NaN stays NaN and converts to 0
        val v = Math.min(Math.max(x * 255f, 0f), 255f)
        // the sum's low mantissa bits are the rounded level (no float -> int conversion)
        val level = java.lang.Float.floatToRawIntBits(v + ROUND) - ROUND_BITS
        return if (v == v) level else 0
    }

    const val ROUND = 12582912f // 1.5 * 2^23
    const val ROUND_BITS = 0x4B400000 // its IEEE 754 bits

    /** Decoded 8-bit pixels (`Bitmap.getPixels` ARGB ints) -> the float input, NHWC RGB `v / 255`; [dst] holds `3 * src.size`. */
    fun argbToFloat(src: IntArray, dst: FloatArray) {
        require(dst.size >= src.size * 3) { "input array has ${dst.size} values for ${src.size} pixels" }
        for (i in src.indices) {
            val p = src[i]
            dst[3 * i] = toFloat[(p shr 16) and 0xFF]
            dst[3 * i + 1] = toFloat[(p shr 8) and 0xFF]
            dst[3 * i + 2] = toFloat[p and 0xFF]
        }
    }

    /** The same for an `int8-full` input (convert/CONTRACT.md): bytes `v - 128`. */
    fun argbToInt8(src: IntArray, dst: ByteArray) {
        require(dst.size >= src.size * 3) { "input array has ${dst.size} values for ${src.size} pixels" }
        for (i in src.indices) {
            val p = src[i]
            dst[3 * i] = (((p shr 16) and 0xFF) - 128).toByte()
            dst[3 * i + 1] = (((p shr 8) and 0xFF) - 128).toByte()
            dst[3 * i + 2] = ((p and 0xFF) - 128).toByte()
        }
    }

    /**
     * YUV 4:2:0 -> 8-bit RGB by BT.601 (TILING.md): [data] holds `height * width` Y bytes then
     * the chroma (NV21: V,U interleaved per chroma sample; I420: the U plane then the V plane),
     * `ceil(H/2) x ceil(W/2)` chroma samples; [fullRange] false: Y 16..235, chroma 16..240.
     * [out]: `height * width * 3` bytes, row-major RGB. Computed in float64, rounded half to even.
     * Throws [IllegalArgumentException] when [data] or [out] is too small.
     */
    fun yuv420ToRgb(height: Int, width: Int, data: ByteArray, nv21: Boolean, fullRange: Boolean, out: ByteArray) {
        val ch = (height + 1) / 2
        val cw = (width + 1) / 2
        require(data.size >= height * width + 2 * ch * cw) { "YUV data has ${data.size} bytes, needs ${height * width + 2 * ch * cw}" }
        require(out.size >= height * width * 3) { "RGB output has ${out.size} bytes, needs ${height * width * 3}" }
        val ySize = height * width
        for (y in 0 until height) {
            for (x in 0 until width) {
                val c = (y / 2) * cw + x / 2
                val u: Int
                val v: Int
                if (nv21) {
                    v = data[ySize + 2 * c].toInt() and 0xFF
                    u = data[ySize + 2 * c + 1].toInt() and 0xFF
                } else {
                    u = data[ySize + c].toInt() and 0xFF
                    v = data[ySize + ch * cw + c].toInt() and 0xFF
                }
                val yy = data[y * width + x].toInt() and 0xFF
                val l: Double
                val cb: Double
                val cr: Double
                if (fullRange) {
                    l = yy.toDouble()
                    cb = u - 128.0
                    cr = v - 128.0
                } else {
                    l = (yy - 16.0) * 255.0 / 219.0
                    cb = (u - 128.0) * 255.0 / 224.0
                    cr = (v - 128.0) * 255.0 / 224.0
                }
                val o = (y * width + x) * 3
                out[o] = level(l + 1.402 * cr)
                out[o + 1] = level(l - 0.344136 * cb - 0.714136 * cr)
                out[o + 2] = level(l + 1.772 * cb)
            }
        }
    }

    private fun level(v: Double): Byte = Math.rint(v).coerceIn(0.0, 255.0).toInt().toByte()
}
