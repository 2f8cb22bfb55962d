package dev.pocketsr.core

import java.nio.ByteBuffer
import kotlin.random.Random
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Test

class FramesTest {
    private val rnd = Random(11)

    /** An RGBA_8888 plane of [w]x[h] ARGB pixels with [pad] garbage bytes after each row. */
    private fun plane(argb: IntArray, w: Int, h: Int, pad: Int): ByteBuffer {
        val stride = w * 4 + pad
        val b = ByteBuffer.allocateDirect(stride * h)
        for (i in 0 until b.capacity()) b.put(i, rnd.nextInt(256).toByte())
        for (y in 0 until h) {
            for (x in 0 until w) {
                val p = argb[y * w + x]
                val o = y * stride + x * 4
                b.put(o, (p shr 16).toByte())
                b.put(o + 1, (p shr 8).toByte())
                b.put(o + 2, p.toByte())
                b.put(o + 3, 0xFF.toByte())
            }
        }
        return b
    }

    /** The sensor frame whose clockwise rotation by [deg] is [upright] (uw x uh). */
    private fun sensorOf(upright: IntArray, uw: Int, uh: Int, deg: Int): Triple<IntArray, Int, Int> {
        val sw = if (deg % 180 == 0) uw else uh
        val sh = if (deg % 180 == 0) uh else uw
        val s = IntArray(sw * sh)
        for (uy in 0 until uh) {
            for (ux in 0 until uw) {
                val (sx, sy) = when (deg) {
                    0 -> ux to uy
                    90 -> uy to sh - 1 - ux
                    180 -> sw - 1 - ux to sh - 1 - uy
                    else -> sw - 1 - uy to ux
                }
                s[sy * sw + sx] = upright[uy * uw + ux]
            }
        }
        return Triple(s, sw, sh)
    }

    private fun randomImage(n: Int) = IntArray(n) { (0xFF shl 24) or rnd.nextInt(0x1000000) }

    @Test
    fun exactSizeFrameIsCopiedWhateverTheRowPadding() {
        val img = randomImage(12 * 20)
        val pre = FramePreprocessor(12, 20)
        val out = FloatArray(12 * 20 * 3)
        val preview = IntArray(12 * 20)
        for (pad in listOf(0, 4, 60)) {
            pre.toFloat(plane(img, 20, 12, pad), 20, 12, 20 * 4 + pad, 0, out, preview)
            assertArrayEquals("pad $pad", img, preview)
            for (i in img.indices) assertEquals(Pixels.u8ToFloat((img[i] shr 8) and 0xFF), out[i * 3 + 1], 0f)
        }
    }

    @Test
    fun everyRotationGivesTheUprightImage() {
        // upright 30 wide, 18 tall; model input 9x15 (same aspect): a 2x downscale, bilinear
        val upright = randomImage(18 * 30)
        val pre = FramePreprocessor(9, 15)
        val want = IntArray(9 * 15)
        pre.toFloat(plane(upright, 30, 18, 8), 30, 18, 30 * 4 + 8, 0, FloatArray(9 * 15 * 3), want)
        for (deg in listOf(90, 180, 270)) {
            val (s, sw, sh) = sensorOf(upright, 30, 18, deg)
            val got = IntArray(9 * 15)
            pre.toFloat(plane(s, sw, sh, 12), sw, sh, sw * 4 + 12, deg, FloatArray(9 * 15 * 3), got)
            assertArrayEquals("rotation $deg", want, got)
        }
        // 2x2 box average at pixel centres: output (0, 0) is the mean of upright (0..1, 0..1)
        val mean = (0 until 4).map { (upright[(it / 2) * 30 + it % 2] shr 16) and 0xFF }.sum() / 4.0
        assertEquals(Math.rint(mean).toInt(), (want[0] shr 16) and 0xFF)
    }

    @Test
    fun wideFrameIsCentreCroppedToTheInputAspect() {
        // 40x10 frame, 10x10 input: the middle 10 columns, unscaled
        val img = randomImage(10 * 40)
        val got = IntArray(100)
        FramePreprocessor(10, 10).toFloat(plane(img, 40, 10, 0), 40, 10, 160, 0, FloatArray(300), got)
        for (y in 0 until 10) for (x in 0 until 10) assertEquals(img[y * 40 + 15 + x], got[y * 10 + x])
    }

    @Test
    fun int8InputIsTheLevelMinus128() {
        val img = randomImage(6 * 8)
        val out = ByteArray(6 * 8 * 3)
        val preview = IntArray(48)
        FramePreprocessor(6, 8).toInt8(plane(img, 8, 6, 4), 8, 6, 36, 0, out, preview)
        for (i in img.indices) {
            assertEquals(((img[i] shr 16) and 0xFF) - 128, out[i * 3].toInt())
            assertEquals((img[i] and 0xFF) - 128, out[i * 3 + 2].toInt())
        }
    }

    @Test
    fun decodedPixelsFeedBothInputKinds() {
        val img = randomImage(10)
        val f = FloatArray(30)
        val q = ByteArray(30)
        Pixels.argbToFloat(img, f)
        Pixels.argbToInt8(img, q)
        for (i in img.indices) {
            for (c in 0 until 3) {
                val level = (img[i] shr (16 - 8 * c)) and 0xFF
                assertEquals(level / 255f, f[3 * i + c], 0f)
                assertEquals(level - 128, q[3 * i + c].toInt())
            }
        }
    }

    @Test
    fun outputPixelsFollowTheRoundingRule() {
        val dst = IntArray(2)
        OutputPixels.floatToArgb(floatArrayOf(-0.2f, 0.5f, 1.7f, 2.5f / 255f, 3.5f / 255f, Float.NaN), dst)
        assertEquals(0xFF0080FF.toInt(), dst[0]) // 0.5 * 255 = 127.5 -> 128 (even)
        assertEquals(0xFF020400.toInt(), dst[1]) // 2.5 -> 2, 3.5 -> 4, NaN -> 0
        val q = IntArray(1)
        OutputPixels.int8ToArgb(byteArrayOf(-128, 0, 127), -128, q)
        assertEquals(0xFF0080FF.toInt(), q[0])
    }

    @Test
    fun fpsAndLatencySummaries() {
        val m = FpsMeter(0.5)
        assertEquals(0.0, m.tick(0), 0.0)
        assertEquals(100.0, m.tick(10_000_000), 1e-9)
        assertEquals(1e9 / 15_000_000, m.tick(30_000_000), 1e-9) // 0.5 * 10 ms + 0.5 * 20 ms
        val s = LatencyStats.summarize(listOf(100.0, 5.0, 3.0, 4.0, 9.0, 1.0), warmup = 1)
        assertEquals(LatencyMs(5, 1, 4.0, 1.0, 9.0, 9.0), s)
        assertFalse(LatencyStats.summarize(listOf(2.0, 4.0), 0).median != 3.0)
    }
}
