package dev.pocketsr.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class BundleVectorsTest {
    private val vectors = Vectors.json("bundles.json")

    @Test
    fun validBundlesAreRead() {
        for (c in vectors["valid"].asJsonArray) {
            val b = Bundle.parse(c.asJsonObject["bundle"].toString())
            assertEquals(Bundle.SCHEMA_VERSION, b.schemaVersion)
            for ((a, raw) in b.artifacts.zip(c.asJsonObject["bundle"].asJsonObject["artifacts"].asJsonArray)) {
                val tiling = raw.asJsonObject["tiling"].asJsonObject
                assertEquals(tiling["radius"].takeUnless { it.isJsonNull }?.asInt, a.radius)
                assertEquals(tiling["exact"].asBoolean, a.exactTiling)
                assertEquals(tiling["seam_psnr_db"].takeUnless { it.isJsonNull }?.asDouble, a.seamPsnrDb)
            }
            val tfl = b.tflite()
            assertTrue(tfl.isNotEmpty())
            for (a in tfl) {
                assertEquals(a.inputH * a.scale, a.outputH)
                assertEquals(listOf(1, a.outputH, a.outputW, 3), a.output.shape)
                val set = b.goldenSetOf(a)
                assertEquals(listOf(set.inputH, set.inputW), listOf(a.inputH, a.inputW))
                assertTrue(a.gateFor(true) <= a.gateFor(false))
            }
            assertTrue(tfl.any { it.inputKind == InputKind.INT8 } && tfl.any { it.inputKind == InputKind.FLOAT32 })
        }
    }

    @Test
    fun invalidBundlesAreRefusedWithOneLine() {
        val cases = vectors["invalid"].asJsonArray
        assertTrue(cases.size() >= 8)
        for (c in cases) {
            val o = c.asJsonObject
            if ("android" !in o["apps"].asJsonArray.map { it.asString }) continue // a Core ML rule: the iOS app's
            try {
                Bundle.parse(o["bundle"].toString())
                fail("${o["name"].asString}: accepted")
            } catch (e: BundleException) {
                val msg = e.message!!
                assertTrue("${o["name"].asString}: '$msg'", msg.lowercase().contains(o["error_contains"].asString.lowercase()))
                assertTrue(!msg.contains('\n'))
            }
        }
    }

    @Test
    fun notJsonIsRefused() {
        for (text in listOf("", "{", "[1, 2]", "{\"bundle\": \"pocketsr app bundle\"}")) {
            try {
                Bundle.parse(text)
                fail("accepted '$text'")
            } catch (e: BundleException) {
                assertTrue(e.message!!.isNotBlank())
            }
        }
    }
}
