package dev.pocketsr.core

import com.google.gson.JsonParser
import java.io.File
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class DeviceReportTest {
    private fun record(requested: String, sha: String = "0123456789abcdef".repeat(4)): RunRecord {
        val golden = DoubleArray(12) { it / 12.0 }
        val out = DoubleArray(12) { golden[it] + if (it % 3 == 0) 1e-4 else 0.0 }
        val figures = GoldenParity.measure(out, golden, eightBit = false)
        val identical = GoldenParity.measure(golden, golden, eightBit = false)
        return RunRecord(
            artifactFile = "lkdn-s_x4_48x64_fp16.tflite", sha256 = sha, runtimeVersion = "2.1.0",
            requested = requested, used = requested, gpuPrecision = if (requested == "gpu") "fp16" else null,
            threads = if (requested == "cpu") 4 else null, fp16Arithmetic = requested != "cpu", firstLoadMs = 12.5,
            latency = LatencyStats.summarize(listOf(30.0, 20.0, 21.0, 22.0), 1), peakMemoryMb = null,
            thermalBefore = DeviceReport.thermalName(0), thermalAfter = DeviceReport.thermalName(1),
            goldens = listOf("astronaut-0" to figures, "chelsea-0" to identical), gateDb = 60.0,
            passed = GoldenParity.passes(listOf(figures, identical), 60.0), fallback = null, errors = emptyList()
        )
    }

    /** Written where POCKETSR_DEVICE_REPORT_OUT says, so android_demo/check validates it with the Python schema validator. */
    @Test
    fun reportIsWrittenWithEveryRequiredField() {
        val text = DeviceReport.toJson(
            "pocketsr demo (JVM test)",
            "0.1.0-test",
            DeviceInfo("JVM", "unit test (not a measurement)", "Android 15 (API 35)", null),
            "2026-12-04T07:12:43+00:00",
            "0.1.0",
            listOf(record("cpu"), record("gpu")),
            "2026-12-04T08:00:00Z"
        )
        System.getenv("POCKETSR_DEVICE_REPORT_OUT")?.let { File(it).writeText(text) }
        val o = JsonParser.parseString(text).asJsonObject
        assertEquals("pocketsr device report", o["report"].asString)
        val run = o["runs"].asJsonArray[1].asJsonObject
        assertEquals("fp16", run["runtime"].asJsonObject["arithmetic"].asString)
        val g = run["goldens"].asJsonArray
        assertTrue(g[1].asJsonObject["psnr_db"].isJsonNull && g[1].asJsonObject["identical"].asBoolean)
        assertTrue(g[0].asJsonObject["psnr_db"].asDouble > 60.0)
        assertTrue(run["peak_memory_mb"].isJsonNull && run["passed"].asBoolean)
        assertEquals("light", run["thermal"].asJsonObject["after"].asString)
        assertEquals("unknown", DeviceReport.thermalName(42))
    }

    @Test(expected = IllegalArgumentException::class)
    fun badShaIsRefused() {
        DeviceReport.toJson(
            "a",
            "1",
            DeviceInfo("m", "m", "o", null),
            null,
            null,
            listOf(record("cpu", sha = "xyz")),
            "2026-12-04T08:00:00Z"
        )
    }
}
