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
