package dev.pocketsr.app

import android.content.Context
import android.content.Intent
import android.os.Build
import android.os.Bundle
import android.os.PowerManager
import android.widget.Button
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import androidx.core.content.FileProvider
import dev.pocketsr.core.BundleArtifact
import dev.pocketsr.core.DeviceInfo
import dev.pocketsr.core.DeviceReport
import dev.pocketsr.core.GoldenParity
import dev.pocketsr.core.LatencyStats
import dev.pocketsr.core.Npy
import dev.pocketsr.core.ParityFigures
import dev.pocketsr.core.Pixels
import dev.pocketsr.core.RunRecord
import java.io.File
import java.text.SimpleDateFormat
import java.util.Date
import java.util.Locale
import java.util.TimeZone
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicBoolean

/**
 * Self-check & benchmark: every bundled TFLite artifact on every accelerator LiteRT offers here
 * (CPU, GPU FP32, GPU FP16, NPU). Runs the golden set (validate/PARITY.md), times [TIMED] runs after
 * [WARMUP] warm-up runs and the first load, records thermal status and fallbacks, and exports the
 * device report (validate/schemas/device_report.schema.json) through the share sheet.
 */
class SelfCheckActivity : AppCompatActivity() {
    private lateinit var log: TextView
    private lateinit var run: Button
    private lateinit var share: Button
    private lateinit var worker: ExecutorService
    private val stop = AtomicBoolean(false)
    private var threads = 4
    private var reportFile: File? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_self_check)
        log = findViewById(R.id.log) as TextView
        run = findViewById(R.id.run) as Button
        share = findViewById(R.id.share) as Button
        worker = Executors.newSingleThreadExecutor()
        threads = intent.getIntExtra(MainActivity.EXTRA_THREADS, 4)
        val loaded = BundleAssets.load(this)
        if (loaded.bundle == null) {
            log.text = loaded.error
            run.isEnabled = false
        }
        share.isEnabled = false
        run.setOnClickListener { start() }
        share.setOnClickListener { shareReport() }
    }

    override fun onDestroy() {
        stop.set(true)
        worker.shutdown()
        super.onDestroy()
    }

    private fun say(line: String) = runOnUiThread { log.append(line + "\n") }

    private fun start() {
        val bundle = BundleAssets.load(this).bundle ?: return
        run.isEnabled = false
        share.isEnabled = false
        log.text = ""
        worker.execute {
            val runs = ArrayList<RunRecord>()
            val offered = LiteRtModel.offered(this)
            say("LiteRT $LITERT_VERSION offers: ${offered.joinToString { it.label }}")
            for (a in bundle.tflite()) {
                for (accel in offered) {
                    if (stop.get()) return@execute
                    say("${a.label} on ${accel.label} …")
                    try {
                        val r = checkOne(bundle.goldenSetOf(a).images, a, accel)
                        runs.add(r)
                        val worst = r.goldens.mapNotNull { it.second.psnrDb }.minOrNull()
                        say(
                            String.format(
                                Locale.US, "  %s: median %.2f ms (p90 %.2f), load %.0f ms, worst %s dB vs gate %.1f%s%s",
                                if (r.passed) "PASS" else "FAIL", r.latency.median, r.latency.p90, r.firstLoadMs,
                                worst?.let { String.format(Locale.US, "%.1f", it) } ?: "identical", r.gateDb,
                                if (a.gate.reportOnly) " (report only)" else "",
                                r.fallback?.let { "\n  fallback: $it" } ?: ""
                            )
                        )
                        r.errors.forEach { say("  error: $it") }
                    } catch (e: Exception) {
                        say("  not run: ${LiteRtModel.oneLine(e)}")
                    } catch (e: OutOfMemoryError) {
                        say("  not run: out of memory")
                    }
                }
            }
            if (runs.isEmpty()) {
                say("No run completed: nothing to report.")
                runOnUiThread { run.isEnabled = true }
                return@execute
            }
            try {
                val json = DeviceReport.toJson(
                    APP_NAME,
                    APP_VERSION,
                    deviceInfo(),
                    bundle.created,
                    bundle.pocketsr,
                    runs,
                    utcNow()
                )
                val dir = File(cacheDir, "reports")
                dir.mkdirs()
                val file = File(dir, "device_report_${Build.MODEL.replace(Regex("[^A-Za-z0-9_-]"), "_")}.json")
                file.writeText(json)
                reportFile = file
                say("Report: ${runs.size} runs, ${runs.count { it.passed }} passed. Share it, then `pocketsr device-report FILE`.")
                runOnUiThread {
                    run.isEnabled = true
                    share.isEnabled = true
                }
            } catch (e: Exception) {
                say("Could not write the report: ${LiteRtModel.oneLine(e)}")
                runOnUiThread { run.isEnabled = true }
            }
        }
    }

    /** One (artifact, accelerator) run; throws only when the model cannot be opened even on the CPU. */
    private fun checkOne(images: List<dev.pocketsr.core.GoldenImage>, a: BundleArtifact, accel: Accel): RunRecord {
        val thermalBefore = thermal()
        val errors = ArrayList<String>()
        val m = LiteRtModel.open(this, a, accel, threads)
        m.use { model ->
            val inF = FloatArray(model.inputSize)
            val in8 = ByteArray(model.inputSize)
            val zp = a.output.zeroPoint ?: 0
            val eightBit = a.output.values == "8bit"
            val goldens = ArrayList<Pair<String, ParityFigures>>()
            var firstInput: Int? = null
            for ((index, img) in images.withIndex()) {
                try {
                    val bmp = BundleAssets.decodePng(assets, img.inputFile)
                    if (bmp.width != a.inputW || bmp.height != a.inputH) {
                        errors.add("${img.name}: input ${bmp.width}x${bmp.height}, model wants ${a.inputW}x${a.inputH}")
                        continue
                    }
                    val px = IntArray(a.inputW * a.inputH)
                    bmp.getPixels(px, 0, a.inputW, 0, 0, a.inputW, a.inputH)
                    bmp.recycle()
                    fill(px, inF, in8, model.inputInt8)
                    feed(model, inF, in8)
                    model.invoke()
                    model.readOutput()
                    val window = if (model.outputInt8) {
                        GoldenParity.windowOfInt8(model.int8Out, a.outputW, zp, img.window)
                    } else {
                        GoldenParity.windowOfFloat(model.floatOut, a.outputW, img.window)
                    }
                    val golden = Npy.read(BundleAssets.readBytes(assets, img.goldenFile)).values
                    goldens.add(Pair(img.name, GoldenParity.measure(window, golden, eightBit)))
                    if (firstInput == null) firstInput = index
                } catch (e: Exception) {
                    errors.add("${img.name}: ${LiteRtModel.oneLine(e)}")
                }
            }
            // Timing on the first golden input (left in the buffers above when it was the last one fed).
            if (firstInput != null) {
                val px = IntArray(a.inputW * a.inputH)
                val bmp = BundleAssets.decodePng(assets, images[firstInput].inputFile)
                bmp.getPixels(px, 0, a.inputW, 0, 0, a.inputW, a.inputH)
                fill(px, inF, in8, model.inputInt8)
            }
            val ms = ArrayList<Double>()
            for (i in 0 until WARMUP + TIMED) {
                val t0 = System.nanoTime()
                feed(model, inF, in8)
                model.invoke()
                model.readOutput()
                ms.add((System.nanoTime() - t0) / 1e6)
            }
            val fp16 = model.used.fp16Arithmetic
            val gate = a.gateFor(fp16)
            val passed = goldens.isNotEmpty() && errors.isEmpty() && GoldenParity.passes(goldens.map { it.second }, gate)
            return RunRecord(
                artifactFile = a.file, sha256 = a.sha256, runtimeVersion = LITERT_VERSION,
                requested = accel.requested, used = usedName(model.used), gpuPrecision = model.used.gpuPrecision,
                threads = if (model.used == Accel.CPU) model.threads else null, fp16Arithmetic = fp16,
                firstLoadMs = model.firstLoadMs, latency = LatencyStats.summarize(ms, WARMUP), peakMemoryMb = null,
                thermalBefore = thermalBefore, thermalAfter = thermal(),
                goldens = goldens, gateDb = gate, passed = passed, fallback = model.fallback, errors = errors
            )
        }
    }

    /** The pixel rule (validate/TILING.md): float input v/255; int8-full input v-128. RGB, NHWC. */
    private fun fill(argb: IntArray, f: FloatArray, q: ByteArray, int8: Boolean) =
        if (int8) Pixels.argbToInt8(argb, q) else Pixels.argbToFloat(argb, f)

    private fun feed(m: LiteRtModel, f: FloatArray, q: ByteArray) = if (m.inputInt8) m.writeInput(q) else m.writeInput(f)

    private fun usedName(a: Accel): String = when (a) {
        Accel.CPU -> "cpu"
        Accel.GPU_FP32, Accel.GPU_FP16 -> "gpu"
        Accel.NPU -> "npu+cpu"
    }

    private fun thermal(): String {
        if (Build.VERSION.SDK_INT < 29) return "unknown"
        val pm = getSystemService(Context.POWER_SERVICE) as PowerManager
        return DeviceReport.thermalName(pm.currentThermalStatus)
    }

    private fun deviceInfo() = DeviceInfo(
        maker = Build.MANUFACTURER,
        model = Build.MODEL,
        osVersion = "Android ${Build.VERSION.RELEASE} (API ${Build.VERSION.SDK_INT})",
        soc = if (Build.VERSION.SDK_INT >= 31) Build.SOC_MODEL else null
    )

    private fun utcNow(): String {
        val f = SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss'Z'", Locale.US)
        f.timeZone = TimeZone.getTimeZone("UTC")
        return f.format(Date())
    }

    private fun shareReport() {
        val file = reportFile ?: return
        try {
            val uri = FileProvider.getUriForFile(this, "$packageName.fileprovider", file)
            val send = Intent(Intent.ACTION_SEND)
            send.type = "application/json"
            send.putExtra(Intent.EXTRA_STREAM, uri)
            send.putExtra(Intent.EXTRA_SUBJECT, file.name)
            send.addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION)
            startActivity(Intent.createChooser(send, getString(R.string.share_report)))
        } catch (e: Exception) {
            say("Could not share: ${LiteRtModel.oneLine(e)}")
        }
    }

    companion object {
        const val WARMUP = 3
        const val TIMED = 20
    }
}
