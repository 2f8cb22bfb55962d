package dev.pocketsr.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class PixelsVectorsTest {
    private val vectors = Vectors.json("pixels.json")

    @Test
    fun uint8ToFloatAndBack() {
        val a = vectors["uint8_to_float"].asJsonObject
        for ((i, o) in a["in"].asJsonArray.zip(a["out"].asJsonArray)) {
            assertEquals(o.asFloat, Pixels.u8ToFloat(i.asInt), 0f)
        }
        val b = vectors["float_to_uint8"].asJsonObject
        for ((i, o) in b["in"].asJsonArray.zip(b["out"].asJsonArray)) {
            assertEquals("float_to_uint8(${i.asFloat})", o.asInt, Pixels.floatToU8(i.asFloat))
        }
        for (v in 0..255) assertEquals(v, Pixels.floatToU8(Pixels.u8ToFloat(v)))
    }

    /** The fast rounding in floatToU8 against the plain rule, near every half and on random values. */
    @Test
    fun floatToU8MatchesTheRuleEverywhere() {
        fun rule(x: Float) = Math.rint((x.coerceIn(0f, 1f) * 255f).toDouble()).toInt()
        for (k in -2..257) {
            var x = (k + 0.5f) / 255f
            repeat(8) { x = Math.nextDown(x) }
            repeat(16) {
                assertEquals("x = $x", rule(x), Pixels.floatToU8(x))
                x = Math.nextUp(x)
            }
        }
        val rnd = kotlin.random.Random(5)
        repeat(2_000_000) {
            val x = rnd.nextFloat() * 1.4f - 0.2f
            assertEquals("x = $x", rule(x), Pixels.floatToU8(x))
        }
        for (x in listOf(Float.NaN, -Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, Float.MIN_VALUE)) {
            assertEquals("x = $x", if (x == Float.POSITIVE_INFINITY) 255 else 0, Pixels.floatToU8(x))
        }
    }

    @Test
    fun yuv420ToRgbInBothLayoutsAndRanges() {
        val cases = vectors["yuv420_to_rgb"].asJsonObject["cases"].asJsonArray
        assertTrue(cases.size() >= 4)
        for (c in cases) {
            val o = c.asJsonObject
            val h = o["height"].asInt
            val w = o["width"].asInt
            val want = o["rgb"].asJsonArray.map { it.asInt }
            for (layout in listOf("i420", "nv21")) {
                val data = o[layout].asJsonArray.map { it.asInt.toByte() }.toByteArray()
                val out = ByteArray(h * w * 3)
                Pixels.yuv420ToRgb(h, w, data, layout == "nv21", o["range"].asString == "full", out)
                // computed in float64 like the reference: exact
                assertEquals("${h}x$w ${o["range"].asString} $layout", want, out.map { it.toInt() and 0xFF })
            }
        }
    }
}
