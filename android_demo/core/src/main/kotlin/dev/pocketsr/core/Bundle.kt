package dev.pocketsr.core

import com.google.gson.JsonElement
import com.google.gson.JsonObject
import com.google.gson.JsonParseException
import com.google.gson.JsonParser

/** A bundle.json the app cannot use; the message is one line for the screen. */
class BundleException(message: String) : Exception(message)

/** How the artifact's input is fed (convert/CONTRACT.md): float32 `v / 255`, or `int8-full` bytes `v - 128`. */
enum class InputKind { FLOAT32, INT8 }

/** An input or output tensor of an artifact as bundle.json describes it. */
data class TensorSpec(
    val name: String,
    val shape: List<Int>,
    val layout: String?,
    val dtype: String,
    val scale: Double?,
    val zeroPoint: Int?,
    val values: String?
)

/** Parity floors (validate/PARITY.md section 4), dB. */
data class Gate(val minParityPsnrDb: Double, val minParityPsnrDbFp16: Double, val reportOnly: Boolean)

/** One golden image: LR PNG, golden `.npy` (HWC, values in [0, 1]) and its window `[y, x, h, w]` in the HR output. */
data class GoldenImage(
    val name: String,
    val inputFile: String,
    val goldenFile: String,
    val goldenDtype: String,
    val goldenShape: List<Int>,
    val window: List<Int>
)

/** The golden set of one (model, weights, input size). */
data class GoldenSet(val key: String, val model: String, val inputH: Int, val inputW: Int, val scale: Int, val images: List<GoldenImage>)

/** One artifact of the bundle; paths are relative to the bundle folder. */
data class BundleArtifact(
    val file: String,
    val sha256: String,
    val model: String,
    val title: String,
    val scale: Int,
    val target: String,
    val precision: String,
    val pickedAs: List<String>,
    val input: TensorSpec,
    val output: TensorSpec,
    val io: String,
    val tileH: Int,
    val tileW: Int,
    val radius: Int?,
    val defaultOverlap: Int,
    val exactTiling: Boolean,
    /** Tiled vs whole-image PSNR (dB) measured at conversion for a network that is not local; null otherwise. */
    val seamPsnrDb: Double?,
    val gate: Gate,
    val goldenSet: String
) {
    private val nhwc = target == "tflite"
    val inputH: Int get() = if (nhwc) input.shape[1] else input.shape[input.shape.size - 2]
    val inputW: Int get() = if (nhwc) input.shape[2] else input.shape[input.shape.size - 1]
    val outputH: Int get() = inputH * scale
    val outputW: Int get() = inputW * scale
    val inputKind: InputKind get() = if (input.dtype == "int8") InputKind.INT8 else InputKind.FLOAT32

    /** The output holds `int8-full` levels (`q - zeroPoint`), else float32 values. */
    val outputKind: InputKind get() = if (output.dtype == "int8") InputKind.INT8 else InputKind.FLOAT32
    val label: String get() = "$title $precision ${inputH}x$inputW"

    /** The gate for the arithmetic used: float16 (GPU FP16, NPU) or float32 (CPU, GPU FP32). */
    fun gateFor(fp16Arithmetic: Boolean): Double = if (fp16Arithmetic) gate.minParityPsnrDbFp16 else gate.minParityPsnrDb
}

/** A parsed bundle.json (validate/schemas/bundle.schema.json, version [SCHEMA_VERSION]). */
class Bundle(
    val schemaVersion: Int,
    val created: String,
    val pocketsr: String,
    val artifacts: List<BundleArtifact>,
    val goldenSets: Map<String, GoldenSet>
) {
    /** The artifacts this app runs (LiteRT). */
    fun tflite(): List<BundleArtifact> = artifacts.filter { it.target == "tflite" }

    fun goldenSetOf(a: BundleArtifact): GoldenSet = goldenSets.getValue(a.goldenSet)

    companion object {
        const val SCHEMA_VERSION = 1
        private val FLOAT_IO = setOf("float32")
        private val INT8_IO = setOf("int8")

        /**
         * Parses and checks bundle.json text. Throws [BundleException] (one line) for what the
         * app does not understand: not JSON, another schema version, missing or mistyped
         * fields, shapes that are not NHWC RGB `scale`x, dtypes other than float32/int8,
         * an unknown golden set.
         */
        fun parse(json: String): Bundle {
            val root = try {
                JsonParser.parseString(json)
            } catch (e: JsonParseException) {
                throw BundleException("bundle.json is not JSON: ${e.message?.lineSequence()?.first()}")
            }
            if (!root.isJsonObject) throw BundleException("bundle.json is not a JSON object")
            val o = root.asJsonObject
            if (str(o, "bundle", "bundle.json") != "pocketsr app bundle") throw BundleException("bundle.json: not a pocketsr app bundle")
            val version = int(o, "schema_version", "bundle.json")
            if (version != SCHEMA_VERSION) {
                throw BundleException(
                    "bundle.json schema_version $version: this app reads version $SCHEMA_VERSION (update the app or re-bundle)"
                )
            }
            val sets = obj(o, "golden_sets", "bundle.json").entrySet().associate { (k, v) -> k to goldenSet(k, asObj(v, "golden_sets.$k")) }
            val arts = arr(o, "artifacts", "bundle.json").mapIndexed { i, e -> artifact(asObj(e, "artifacts[$i]"), "artifacts[$i]", sets) }
            if (arts.isEmpty()) throw BundleException("bundle.json has no artifacts")
            return Bundle(version, str(o, "created", "bundle.json"), str(o, "pocketsr", "bundle.json"), arts, sets)
        }

        private fun artifact(o: JsonObject, at: String, sets: Map<String, GoldenSet>): BundleArtifact {
            val file = str(o, "file", at)
            val where = "$at ($file)"
            val target = str(o, "target", where)
            val scale = int(o, "scale", where)
            val input = tensor(obj(o, "input", where), "$where.input")
            val output = tensor(obj(o, "output", where), "$where.output")
            val tiling = obj(o, "tiling", where)
            val tile = arr(tiling, "tile", "$where.tiling").map { it.asInt }
            val gate = obj(o, "gate", where)
            val a = BundleArtifact(
                file = file,
                sha256 = str(o, "sha256", where),
                model = str(o, "model", where),
                title = if (o.has("title")) str(o, "title", where) else str(o, "model", where),
                scale = scale,
                target = target,
                precision = str(o, "precision", where),
                pickedAs = arr(o, "picked_as", where).map { it.asString },
                input = input,
                output = output,
                io = str(o, "io", where),
                tileH = tile.getOrElse(0) { 0 },
                tileW = tile.getOrElse(1) { 0 },
                radius = tiling["radius"]?.takeUnless { it.isJsonNull }?.asInt,
                defaultOverlap = int(tiling, "default_overlap", "$where.tiling"),
                exactTiling = tiling["exact"]?.asBoolean ?: throw BundleException("$where.tiling: missing 'exact'"),
                seamPsnrDb = tiling["seam_psnr_db"]?.takeUnless { it.isJsonNull }?.asDouble,
                gate = Gate(
                    num(gate, "min_parity_psnr_db", "$where.gate"),
                    num(gate, "min_parity_psnr_db_fp16", "$where.gate"),
                    gate["report_only"]?.asBoolean ?: false
                ),
                goldenSet = str(o, "golden_set", where)
            )
            if (a.sha256.length != 64) throw BundleException("$where: sha256 is not 64 hex digits")
            if (a.goldenSet !in sets) throw BundleException("$where: golden set '${a.goldenSet}' is not in golden_sets")
            if (target == "tflite") checkTflite(a, where)
            return a
        }

        private fun checkTflite(a: BundleArtifact, where: String) {
            val i = a.input
            val o = a.output
            if (i.layout != "NHWC" || i.shape.size != 4 || i.shape[0] != 1 || i.shape[3] != 3) {
                throw BundleException("$where: input ${i.shape} ${i.layout} is not NHWC [1, h, w, 3]")
            }
            if (o.layout != "NHWC" || o.shape != listOf(1, i.shape[1] * a.scale, i.shape[2] * a.scale, 3)) {
                throw BundleException("$where: output ${o.shape} is not the input ${i.shape} x${a.scale} (NHWC)")
            }
            if (i.dtype !in FLOAT_IO + INT8_IO || o.dtype != i.dtype) {
                throw BundleException("$where: I/O dtypes ${i.dtype} -> ${o.dtype} are not float32 -> float32 or int8 -> int8")
            }
            if (i.dtype == "int8" && (i.zeroPoint != -128 || o.zeroPoint != -128)) {
                throw BundleException("$where: int8 I/O needs zero point -128 (byte - 128), got ${i.zeroPoint} / ${o.zeroPoint}")
            }
            if (a.tileH != i.shape[1] ||
                a.tileW != i.shape[2]
            ) {
                throw BundleException("$where: tiling.tile ${a.tileH}x${a.tileW} is not the input size")
            }
            if (a.defaultOverlap < 0 || 2 * a.defaultOverlap >= minOf(a.tileH, a.tileW)) {
                throw BundleException("$where: default overlap ${a.defaultOverlap} does not fit a ${a.tileH}x${a.tileW} tile")
            }
        }

        private fun tensor(o: JsonObject, at: String) = TensorSpec(
            name = str(o, "name", at),
            shape = arr(o, "shape", at).map { it.asInt },
            layout = o["layout"]?.takeUnless { it.isJsonNull }?.asString,
            dtype = str(o, "dtype", at),
            scale = o["scale"]?.takeUnless { it.isJsonNull }?.asDouble,
            zeroPoint = o["zero_point"]?.takeUnless { it.isJsonNull }?.asInt,
            values = o["values"]?.takeUnless { it.isJsonNull }?.asString
        )

        private fun goldenSet(key: String, o: JsonObject): GoldenSet {
            val at = "golden_sets.$key"
            val size = arr(o, "input_size", at).map { it.asInt }
            if (size.size != 2) throw BundleException("$at: input_size is not [h, w]")
            val images = arr(o, "images", at).mapIndexed { i, e ->
                val im = asObj(e, "$at.images[$i]")
                val where = "$at.images[$i]"
                val golden = obj(im, "golden", where)
                val dtype = str(golden, "dtype", "$where.golden")
                if (dtype != "float32" && dtype != "float16") throw BundleException("$where.golden: dtype $dtype is not float32/float16")
                val window = arr(im, "window", where).map { it.asInt }
                if (window.size != 4) throw BundleException("$where: window is not [y, x, h, w]")
                GoldenImage(
                    str(im, "name", where),
                    str(obj(im, "input", where), "file", "$where.input"),
                    str(golden, "file", "$where.golden"),
                    dtype,
                    arr(golden, "shape", "$where.golden").map { it.asInt },
                    window
                )
            }
            if (images.isEmpty()) throw BundleException("$at has no images")
            return GoldenSet(key, str(o, "model", at), size[0], size[1], int(o, "scale", at), images)
        }

        private fun field(o: JsonObject, k: String, at: String): JsonElement =
            o[k]?.takeUnless { it.isJsonNull } ?: throw BundleException("$at: missing '$k'")

        private fun asObj(e: JsonElement, at: String): JsonObject =
            if (e.isJsonObject) e.asJsonObject else throw BundleException("$at is not an object")
        private fun obj(o: JsonObject, k: String, at: String) = asObj(field(o, k, at), "$at.$k")
        private fun arr(o: JsonObject, k: String, at: String) =
            field(o, k, at).let { if (it.isJsonArray) it.asJsonArray else throw BundleException("$at.$k is not a list") }

        private fun prim(o: JsonObject, k: String, at: String) =
            field(o, k, at).let { if (it.isJsonPrimitive) it.asJsonPrimitive else throw BundleException("$at.$k is not a value") }

        private fun str(o: JsonObject, k: String, at: String): String =
            prim(o, k, at).let { if (it.isString) it.asString else throw BundleException("$at.$k is not a string") }

        private fun num(o: JsonObject, k: String, at: String): Double =
            prim(o, k, at).let { if (it.isNumber) it.asDouble else throw BundleException("$at.$k is not a number") }

        private fun int(o: JsonObject, k: String, at: String): Int {
            val d = num(o, k, at)
            if (d != Math.floor(d)) throw BundleException("$at.$k is not an integer")
            return d.toInt()
        }
    }
}
