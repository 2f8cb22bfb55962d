package dev.pocketsr.core

import com.google.gson.GsonBuilder
import com.google.gson.JsonArray
import com.google.gson.JsonObject

/** The phone, as the device report's `device` object records it. */
data class DeviceInfo(val maker: String, val model: String, val osVersion: String, val soc: String?)

/** One self-check run: one artifact on one accelerator setting. Times in ms, memory in MB. */
data class RunRecord(
    val artifactFile: String,
    val sha256: String,
    val runtimeVersion: String,
    val requested: String,
    val used: String,
    val gpuPrecision: String?,
    val threads: Int?,
    val fp16Arithmetic: Boolean,
    val firstLoadMs: Double,
    val latency: LatencyMs,
    val peakMemoryMb: Double?,
    val thermalBefore: String,
    val thermalAfter: String,
    val goldens: List<Pair<String, ParityFigures>>,
    val gateDb: Double,
    val passed: Boolean,
    val fallback: String?,
    val errors: List<String>
)

/** Writes validate/schemas/device_report.schema.json (version 1) for the Android app (runtime LiteRT). */
object DeviceReport {
    private val THERMAL = arrayOf("none", "light", "moderate", "severe", "critical", "emergency", "shutdown")
    private val REQUESTED = setOf("cpu", "gpu", "npu")

    /** `PowerManager.THERMAL_STATUS_*` (0..6) -> the schema's name; anything else "unknown". */
    fun thermalName(status: Int): String = THERMAL.getOrElse(status) { "unknown" }

    /**
     * The report's JSON text. [createdUtc]: ISO-8601 UTC (`2026-12-04T08:00:00Z`).
     * Throws [IllegalArgumentException] for what the schema would refuse (no runs, a requested
     * accelerator other than cpu/gpu/npu, a sha256 that is not 64 hex digits, an empty golden list).
     */
    fun toJson(
        appName: String,
        appVersion: String,
        device: DeviceInfo,
        bundleCreated: String?,
        bundlePocketsr: String?,
        runs: List<RunRecord>,
        createdUtc: String
    ): String {
        require(runs.isNotEmpty()) { "a device report needs at least one run" }
        val root = JsonObject()
        root.addProperty("report", "pocketsr device report")
        root.addProperty("schema_version", 1)
        root.addProperty("created", createdUtc)
        root.add(
            "app",
            JsonObject().apply {
                addProperty("platform", "android")
                addProperty("name", appName)
                addProperty("version", appVersion)
            }
        )
        root.add(
            "device",
            JsonObject().apply {
                addProperty("maker", device.maker)
                addProperty("model", device.model)
                addProperty("os_version", device.osVersion)
                addProperty("soc", device.soc)
            }
        )
        if (bundleCreated != null || bundlePocketsr != null) {
            root.add(
                "bundle",
                JsonObject().apply {
                    bundleCreated?.let { addProperty("created", it) }
                    bundlePocketsr?.let { addProperty("pocketsr", it) }
                }
            )
        }
        root.add("runs", JsonArray().apply { runs.forEach { add(run(it)) } })
        return GsonBuilder().serializeNulls().setPrettyPrinting().create().toJson(root)
    }

    private fun run(r: RunRecord): JsonObject {
        require(r.requested in REQUESTED) { "requested accelerator '${r.requested}' is not cpu, gpu or npu" }
        require(Regex("[0-9a-f]{64}").matches(r.sha256)) { "sha256 of ${r.artifactFile} is not 64 hex digits" }
        require(r.goldens.isNotEmpty()) { "run of ${r.artifactFile} has no golden images" }
        return JsonObject().apply {
            add(
                "artifact",
                JsonObject().apply {
                    addProperty("file", r.artifactFile)
                    addProperty("sha256", r.sha256)
                }
            )
            add(
                "runtime",
                JsonObject().apply {
                    addProperty("name", "litert")
                    addProperty("version", r.runtimeVersion)
                    addProperty("requested", r.requested)
                    addProperty("used", r.used)
                    addProperty("gpu_precision", r.gpuPrecision)
                    addProperty("threads", r.threads)
                    addProperty("arithmetic", if (r.fp16Arithmetic) "fp16" else "fp32")
                }
            )
            addProperty("first_load_ms", r.firstLoadMs)
            add(
                "latency_ms",
                JsonObject().apply {
                    addProperty("runs", r.latency.runs)
                    addProperty("warmup", r.latency.warmup)
                    addProperty("median", r.latency.median)
                    addProperty("min", r.latency.min)
                    addProperty("max", r.latency.max)
                    addProperty("p90", r.latency.p90)
                }
            )
            addProperty("peak_memory_mb", r.peakMemoryMb)
            add(
                "thermal",
                JsonObject().apply {
                    addProperty("before", r.thermalBefore)
                    addProperty("after", r.thermalAfter)
                }
            )
            add(
                "goldens",
                JsonArray().apply {
                    for ((name, f) in r.goldens) {
                        add(
                            JsonObject().apply {
                                addProperty("name", name)
                                addProperty("psnr_db", f.psnrDb)
                                addProperty("identical", f.identical)
                                addProperty("nan", f.nan)
                                addProperty("max_abs", f.maxAbs)
                                addProperty("changed_8bit", f.changed8bit)
                            }
                        )
                    }
                }
            )
            addProperty("gate_db", r.gateDb)
            addProperty("passed", r.passed)
            addProperty("fallback", r.fallback)
            add("errors", JsonArray().apply { r.errors.forEach { add(it) } })
        }
    }
}
