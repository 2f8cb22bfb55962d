package dev.pocketsr.core

import com.google.gson.JsonElement
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import java.io.File
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

/** The shared vectors of validate/PARITY.md, read from POCKETSR_VECTORS_DIR (default: the repository's). */
class ParityVectorsTest {
    private val dir = File(System.getenv("POCKETSR_VECTORS_DIR") ?: "../validate/vectors")
    private val vectors: JsonObject = JsonParser.parseString(File(dir, "parity.json").readText()).asJsonObject

    private fun doubles(e: JsonElement): DoubleArray = e.asJsonArray.map { if (it.isJsonNull) Double.NaN else it.asDouble }.toDoubleArray()

    private fun output(case: JsonObject): DoubleArray = when {
        case.has("out_levels") -> doubles(case["out_levels"]).map { it / 255.0 }.toDoubleArray()

        case.has("out_quantized") -> {
            val q = case["out_quantized"].asJsonObject
            val zero = q["zero_point"].asInt
            q["q"].asJsonArray.map { (it.asInt - zero) / 255.0 }.toDoubleArray()
        }

        else -> doubles(case["out"])
    }

    private fun close(want: Double, got: Double, what: String) =
        assertTrue("$what: want $want got $got", abs(want - got) <= 1e-9 * maxOf(abs(want), 1e-300))

    private fun abs(x: Double) = kotlin.math.abs(x)

    @Test
    fun casesAreReproduced() {
        val cases = vectors["cases"].asJsonArray
        assertTrue(cases.size() >= 7)
        for (c in cases) {
            val case = c.asJsonObject
            val name = case["name"].asString
            val want = case["expected"].asJsonObject
            val got = GoldenParity.measure(output(case), doubles(case["golden"]), case["eight_bit"].asBoolean)
            assertEquals(name, want["identical"].asBoolean, got.identical)
            assertEquals(name, want["nan"].asBoolean, got.nan)
            assertEquals(name, want["changed_8bit"].asDouble, got.changed8bit, 0.0)
            if (want["psnr_db"].isJsonNull) assertNull(name, got.psnrDb) else close(want["psnr_db"].asDouble, got.psnrDb!!, name)
            if (want["max_abs"].isJsonNull) assertNull(name, got.maxAbs) else close(want["max_abs"].asDouble, got.maxAbs!!, name)
        }
    }

    @Test
    fun verdictsAreReproduced() {
        for (v in vectors["verdicts"].asJsonArray) {
            val o = v.asJsonObject
            val psnr = o["psnr_db"].asJsonArray
            val nans = if (o.has("nan")) o["nan"].asJsonArray.map { it.asBoolean } else List(psnr.size()) { false }
            val figures = psnr.mapIndexed { i, p ->
                ParityFigures(if (p.isJsonNull) null else p.asDouble, p.isJsonNull && !nans[i], nans[i], null, 0.0)
            }
            assertEquals(o.toString(), o["passed"].asBoolean, GoldenParity.passes(figures, o["gate_db"].asDouble))
        }
    }

    @Test
    fun npyGoldensAreRead() {
        for (e in vectors["npy"].asJsonArray) {
            val o = e.asJsonObject
            val a = Npy.read(File(dir, o["file"].asString).readBytes())
            assertEquals(o["shape"].asJsonArray.map { it.asInt }, a.shape.toList())
            assertEquals(doubles(o["values"]).toList(), a.values.toList())
        }
    }
}
