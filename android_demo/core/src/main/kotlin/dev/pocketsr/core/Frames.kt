package dev.pocketsr.core

import java.nio.ByteBuffer

/**
 * Live mode's per-frame input work: a camera RGBA_8888 frame (CameraX `ImageAnalysis` with
 * `OUTPUT_IMAGE_FORMAT_RGBA_8888`: one plane, pixel stride 4, a row stride that may exceed
 * `width * 4`) -> the artifact's `inputH x inputW` RGB input.
 *
 * The frame is turned upright by `rotationDegrees` (clockwise, as `ImageInfo.rotationDegrees`
 * reports it), centre-cropped to the input's aspect ratio and resampled bilinearly (pixel
 * centres aligned; a crop of exactly the input size is copied unchanged). The sampling tables
 * are rebuilt only when the frame geometry changes: no allocation per frame.
 */
class FramePreprocessor(val inputH: Int, val inputW: Int) {
    init {
        require(inputH >= 1 && inputW >= 1) { "bad input size ${inputH}x$inputW" }
    }

    private var key = LongArray(4) { -1 }

    // Per output column / row: byte offsets of the two neighbours and the weight of the second.
    private val colLo = IntArray(inputW)
    private val colHi = IntArray(inputW)
    private val colW = FloatArray(inputW)
    private val rowLo = IntArray(inputH)
    private val rowHi = IntArray(inputH)
    private val rowW = FloatArray(inputH)

    /** [out]: `inputH * inputW * 3` float32 in [0, 1] (NHWC); [preview]: the same pixels as ARGB, if given. */
    fun toFloat(rgba: ByteBuffer, width: Int, height: Int, rowStride: Int, rotationDegrees: Int, out: FloatArray, preview: IntArray?) =
        eachSample(rgba, width, height, rowStride, rotationDegrees, out.size, preview) { o, p ->
            out[o] = Pixels.u8ToFloat((p shr 16) and 0xFF)
            out[o + 1] = Pixels.u8ToFloat((p shr 8) and 0xFF)
            out[o + 2] = Pixels.u8ToFloat(p and 0xFF)
        }

    /** The `int8-full` input (convert/CONTRACT.md): [out] `inputH * inputW * 3` bytes, `level - 128`. */
    fun toInt8(rgba: ByteBuffer, width: Int, height: Int, rowStride: Int, rotationDegrees: Int, out: ByteArray, preview: IntArray?) =
        eachSample(rgba, width, height, rowStride, rotationDegrees, out.size, preview) { o, p ->
            out[o] = (((p shr 16) and 0xFF) - 128).toByte()
            out[o + 1] = (((p shr 8) and 0xFF) - 128).toByte()
            out[o + 2] = ((p and 0xFF) - 128).toByte()
        }

    /** The one sampling loop of both inputs: [write] gets the NHWC offset and the ARGB sample (inlined: no call per pixel). */
    private inline fun eachSample(
        rgba: ByteBuffer,
        width: Int,
        height: Int,
        rowStride: Int,
        rotationDegrees: Int,
        outSize: Int,
        preview: IntArray?,
        write: (Int, Int) -> Unit
    ) {
        require(outSize >= inputH * inputW * 3) { "input array has $outSize values, needs ${inputH * inputW * 3}" }
        prepare(rgba, width, height, rowStride, rotationDegrees, preview)
        var o = 0
        for (y in 0 until inputH) {
            for (x in 0 until inputW) {
                val p = sample(rgba, y, x)
                write(o, p)
                preview?.set(y * inputW + x, p)
                o += 3
            }
        }
    }

    // true when every sample falls on a pixel centre (the crop is the input size): a plain copy
    private var copy = false

    /** Bilinear sample of output pixel (y, x) as ARGB (alpha 255), each channel rounded half to even. */
    private fun sample(b: ByteBuffer, y: Int, x: Int): Int {
        val a = rowLo[y] + colLo[x]
        if (copy) {
            return (0xFF shl 24) or ((b.get(a).toInt() and 0xFF) shl 16) or ((b.get(a + 1).toInt() and 0xFF) shl 8) or
                (b.get(a + 2).toInt() and 0xFF)
        }
        val bb = rowLo[y] + colHi[x]
        val c = rowHi[y] + colLo[x]
        val d = rowHi[y] + colHi[x]
        val wx = colW[x]
        val wy = rowW[y]
        var argb = 0xFF shl 24
        for (ch in 0 until 3) {
            val top = (b.get(a + ch).toInt() and 0xFF) * (1f - wx) + (b.get(bb + ch).toInt() and 0xFF) * wx
            val bottom = (b.get(c + ch).toInt() and 0xFF) * (1f - wx) + (b.get(d + ch).toInt() and 0xFF) * wx
            val v = if (wy == 0f) top else top * (1f - wy) + bottom * wy
            argb = argb or (Math.rint(v.toDouble()).toInt().coerceIn(0, 255) shl (16 - 8 * ch))
        }
        return argb
    }

    private fun prepare(rgba: ByteBuffer, width: Int, height: Int, rowStride: Int, rotationDegrees: Int, preview: IntArray?) {
        require(width >= 1 && height >= 1) { "bad frame size ${width}x$height" }
        require(rowStride >= width * 4) { "row stride $rowStride < width $width x 4" }
        require(rotationDegrees in intArrayOf(0, 90, 180, 270)) { "rotation $rotationDegrees is not 0, 90, 180 or 270" }
        require(rgba.capacity() >= (height - 1) * rowStride + width * 4) {
            "frame buffer has ${rgba.capacity()} bytes, too small for ${width}x$height"
        }
        require(preview == null || preview.size >= inputH * inputW) { "preview has ${preview?.size} pixels, needs ${inputH * inputW}" }
        if (key[0] == width.toLong() && key[1] == height.toLong() && key[2] == rowStride.toLong() &&
            key[3] == rotationDegrees.toLong()
        ) {
            return
        }
        // Upright size, then the centre crop of the input's aspect ratio.
        val swap = rotationDegrees == 90 || rotationDegrees == 270
        val uw = if (swap) height else width
        val uh = if (swap) width else height
        val cropW: Double
        val cropH: Double
        if (uw.toLong() * inputH > uh.toLong() * inputW) {
            cropH = uh.toDouble()
            cropW = uh.toDouble() * inputW / inputH
        } else {
            cropW = uw.toDouble()
            cropH = uw.toDouble() * inputH / inputW
        }
        // Upright coordinate -> sensor byte offset along each upright axis (rotation is clockwise to upright):
        //   0: sx = ux, sy = uy;  90: sx = uy, sy = H-1-ux;  180: sx = W-1-ux, sy = H-1-uy;  270: sx = W-1-uy, sy = ux.
        val ux: (Int) -> Int = when (rotationDegrees) {
            0 -> { u -> u * 4 }
            90 -> { u -> (height - 1 - u) * rowStride }
            180 -> { u -> (width - 1 - u) * 4 }
            else -> { u -> u * rowStride }
        }
        val uy: (Int) -> Int = when (rotationDegrees) {
            0 -> { u -> u * rowStride }
            90 -> { u -> u * 4 }
            180 -> { u -> (height - 1 - u) * rowStride }
            else -> { u -> (width - 1 - u) * 4 }
        }
        table(inputW, (uw - cropW) / 2, cropW / inputW, uw, ux, colLo, colHi, colW)
        table(inputH, (uh - cropH) / 2, cropH / inputH, uh, uy, rowLo, rowHi, rowW)
        copy = colW.all { it == 0f } && rowW.all { it == 0f }
        key = longArrayOf(width.toLong(), height.toLong(), rowStride.toLong(), rotationDegrees.toLong())
    }

    private fun table(n: Int, start: Double, step: Double, size: Int, offset: (Int) -> Int, lo: IntArray, hi: IntArray, w: FloatArray) {
        for (i in 0 until n) {
            val c = (start + (i + 0.5) * step - 0.5).coerceIn(0.0, size - 1.0)
            val i0 = kotlin.math.floor(c).toInt()
            val i1 = minOf(i0 + 1, size - 1)
            lo[i] = offset(i0)
            hi[i] = offset(i1)
            w[i] = (c - i0).toFloat()
        }
    }
}

/** Model output -> display pixels (ARGB ints for `Bitmap.setPixels`), by the TILING.md pixel rule. */
object OutputPixels {
    /** One pixel from three output values (any range; clamped, rounded half to even). */
    fun argb(r: Float, g: Float, b: Float): Int =
        (0xFF shl 24) or (Pixels.floatToU8(r) shl 16) or (Pixels.floatToU8(g) shl 8) or Pixels.floatToU8(b)

    /** [out]: NHWC float32 output (`n * 3` values) -> [dst] `n` ARGB pixels. */
    fun floatToArgb(out: FloatArray, dst: IntArray) {
        require(out.size >= dst.size * 3) { "output has ${out.size} values for ${dst.size} pixels" }
        var o = 0
        for (i in dst.indices) {
            dst[i] = argb(out[o], out[o + 1], out[o + 2])
            o += 3
        }
    }

    /** `int8-full` output (8-bit levels `q - zeroPoint`, clamped to 0..255) -> [dst] ARGB pixels. */
    fun int8ToArgb(out: ByteArray, zeroPoint: Int, dst: IntArray) {
        require(out.size >= dst.size * 3) { "output has ${out.size} values for ${dst.size} pixels" }
        var o = 0
        for (i in dst.indices) {
            val r = (out[o] - zeroPoint).coerceIn(0, 255)
            val g = (out[o + 1] - zeroPoint).coerceIn(0, 255)
            val b = (out[o + 2] - zeroPoint).coerceIn(0, 255)
            dst[i] = (0xFF shl 24) or (r shl 16) or (g shl 8) or b
            o += 3
        }
    }
}
