package dev.pocketsr.app

import android.Manifest
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Paint
import android.graphics.Rect
import android.os.Bundle
import android.util.Size
import android.widget.SeekBar
import android.widget.TextView
import androidx.activity.result.ActivityResultLauncher
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.camera.core.Preview
import androidx.camera.core.resolutionselector.AspectRatioStrategy
import androidx.camera.core.resolutionselector.ResolutionSelector
import androidx.camera.core.resolutionselector.ResolutionStrategy
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import dev.pocketsr.core.BundleArtifact
import dev.pocketsr.core.FpsMeter
import dev.pocketsr.core.FramePreprocessor
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicInteger

/**
 * Live mode: CameraX Preview + ImageAnalysis (RGBA_8888, keep-only-latest). Every analysed frame is
 * preprocessed by the core's FramePreprocessor (row stride, rotation, centre crop) and run on the one
 * model thread; the view shows the model output beside the bilinear upscale of the same input pixels.
 */
class LiveActivity : AppCompatActivity() {
    private lateinit var comparison: ComparisonView
    private lateinit var overlay: TextView
    private lateinit var previewView: PreviewView
    private lateinit var permission: ActivityResultLauncher<String>

    private var artifact: BundleArtifact? = null
    private var accel = Accel.CPU
    private var threads = 4

    /** The model thread: opens, runs and closes the model; CameraX calls the analyzer on it too. */
    private lateinit var modelThread: ExecutorService
    private var cameraProvider: ProcessCameraProvider? = null
    private var analysis: ImageAnalysis? = null

    // Owned by the model thread.
    private var model: LiteRtModel? = null
    private var pre: FramePreprocessor? = null
    private var inF = FloatArray(0)
    private var in8 = ByteArray(0)
    private var lrPixels = IntArray(0)
    private var srPixels = IntArray(0)
    private val fpsMeter = FpsMeter()

    @Volatile private var failed = false

    /** Asked once per screen: a denied request is not repeated on every onResume. */
    private var askedPermission = false

    /** Between startLive and onPause (UI thread): the camera is bound or about to be. */
    private var started = false

    /** Three slots of (LR input, its bilinear x4, model x4) bitmaps: the model thread fills one that the UI
     *  neither shows nor is about to show. The bilinear x4 is drawn by the platform (Canvas + filtering Paint)
     *  at the output size, so the view scales both halves alike. */
    private val lrBitmaps = arrayOfNulls<Bitmap>(3)
    private val bilinearBitmaps = arrayOfNulls<Bitmap>(3)
    private val bilinearCanvases = arrayOfNulls<Canvas>(3)
    private val srBitmaps = arrayOfNulls<Bitmap>(3)
    private val bilinearPaint = Paint(Paint.FILTER_BITMAP_FLAG)
    private var outputRect = Rect()
    private val shown = AtomicInteger(-1)
    private val pending = AtomicInteger(-1)

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_live)
        comparison = findViewById(R.id.comparison) as ComparisonView
        overlay = findViewById(R.id.overlay) as TextView
        previewView = findViewById(R.id.preview) as PreviewView
        val slider = findViewById(R.id.split) as SeekBar
        slider.setOnSeekBarChangeListener(object : SeekBar.OnSeekBarChangeListener {
            override fun onProgressChanged(seekBar: SeekBar, progress: Int, fromUser: Boolean) {
                comparison.split = progress / seekBar.max.toFloat()
            }
            override fun onStartTrackingTouch(seekBar: SeekBar) {}
            override fun onStopTrackingTouch(seekBar: SeekBar) {}
        })
        modelThread = Executors.newSingleThreadExecutor()
        permission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
            if (granted) startLive() else overlay.text = getString(R.string.camera_denied)
        }
        val loaded = BundleAssets.load(this)
        artifact = BundleAssets.artifact(this, intent.getStringExtra(MainActivity.EXTRA_ARTIFACT))
        accel = Accel.byName(intent.getStringExtra(MainActivity.EXTRA_ACCEL))
        threads = intent.getIntExtra(MainActivity.EXTRA_THREADS, 4)
        if (artifact == null) overlay.text = loaded.error ?: getString(R.string.no_model)
    }

    override fun onResume() {
        super.onResume()
        if (artifact == null) return
        if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            startLive()
        } else if (!askedPermission) {
            askedPermission = true
            permission.launch(Manifest.permission.CAMERA)
        } else {
            overlay.text = getString(R.string.camera_denied)
        }
    }

    override fun onPause() {
        // Camera released and model closed whenever the screen is not in front.
        started = false
        cameraProvider?.unbindAll()
        analysis?.clearAnalyzer()
        analysis = null
        modelThread.execute { closeModel() }
        super.onPause()
    }

    override fun onDestroy() {
        modelThread.execute { closeModel() }
        modelThread.shutdown()
        super.onDestroy()
    }

    private fun startLive() {
        val a = artifact ?: return
        if (started) return // onResume and the permission result can both ask
        started = true
        failed = false
        overlay.text = getString(R.string.loading_model)
        modelThread.execute { openModel(a) }
        val future = ProcessCameraProvider.getInstance(this)
        future.addListener({
            try {
                bindCamera(future.get(), a)
            } catch (e: Exception) {
                overlay.text = getString(R.string.camera_failed, LiteRtModel.oneLine(e))
            }
        }, ContextCompat.getMainExecutor(this))
    }

    private fun bindCamera(provider: ProcessCameraProvider, a: BundleArtifact) {
        if (!started || isFinishing || isDestroyed) return // paused before the provider was ready
        cameraProvider = provider
        val wide = maxOf(a.inputW, a.inputH).toDouble() / minOf(a.inputW, a.inputH) >= 1.55
        val selector = ResolutionSelector.Builder()
            .setAspectRatioStrategy(
                if (wide) {
                    AspectRatioStrategy.RATIO_16_9_FALLBACK_AUTO_STRATEGY
                } else {
                    AspectRatioStrategy.RATIO_4_3_FALLBACK_AUTO_STRATEGY
                }
            )
            // Frames only need to exceed the model input: no reason to copy 12 MP per frame.
            .setResolutionStrategy(
                ResolutionStrategy(
                    if (wide) Size(1280, 720) else Size(640, 480),
                    ResolutionStrategy.FALLBACK_RULE_CLOSEST_HIGHER_THEN_LOWER
                )
            )
            .build()
        val preview = Preview.Builder().setResolutionSelector(selector).build()
        preview.setSurfaceProvider(previewView.surfaceProvider)
        val imageAnalysis = ImageAnalysis.Builder()
            .setResolutionSelector(selector)
            .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
            .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
            .build()
        imageAnalysis.setAnalyzer(modelThread) { image -> analyze(image) }
        provider.unbindAll()
        provider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, preview, imageAnalysis)
        analysis = imageAnalysis
    }

    // ---- model thread ----

    private fun openModel(a: BundleArtifact) {
        if (model != null) return
        try {
            val m = LiteRtModel.open(this, a, accel, threads)
            pre = FramePreprocessor(a.inputH, a.inputW)
            if (m.inputInt8) in8 = ByteArray(m.inputSize) else inF = FloatArray(m.inputSize)
            lrPixels = IntArray(a.inputH * a.inputW)
            srPixels = IntArray(a.outputH * a.outputW)
            outputRect = Rect(0, 0, a.outputW, a.outputH)
            for (i in 0 until 3) {
                lrBitmaps[i] = Bitmap.createBitmap(a.inputW, a.inputH, Bitmap.Config.ARGB_8888)
                val bilinear = Bitmap.createBitmap(a.outputW, a.outputH, Bitmap.Config.ARGB_8888)
                bilinearBitmaps[i] = bilinear
                bilinearCanvases[i] = Canvas(bilinear)
                srBitmaps[i] = Bitmap.createBitmap(a.outputW, a.outputH, Bitmap.Config.ARGB_8888)
            }
            model = m
            val note = m.fallback
            runOnUiThread { overlay.text = "${a.label} · ${m.usedLabel}" + (if (note != null) "\n$note" else "") }
        } catch (e: Exception) {
            failed = true
            runOnUiThread { overlay.text = getString(R.string.model_failed, LiteRtModel.oneLine(e)) }
        }
    }

    private fun closeModel() {
        model?.close()
        model = null
    }

    private fun analyze(image: ImageProxy) {
        val m = model
        val p = pre
        if (m == null || p == null || failed) {
            image.close()
            return
        }
        try {
            try {
                val plane = image.planes[0]
                val rotation = image.imageInfo.rotationDegrees
                if (m.inputInt8) {
                    p.toInt8(plane.buffer, image.width, image.height, plane.rowStride, rotation, in8, lrPixels)
                } else {
                    p.toFloat(plane.buffer, image.width, image.height, plane.rowStride, rotation, inF, lrPixels)
                }
            } finally {
                image.close() // the camera may fill the next frame while the model runs
            }
            val t0 = System.nanoTime()
            if (m.inputInt8) m.writeInput(in8) else m.writeInput(inF)
            m.invoke()
            m.readOutput()
            val inferMs = (System.nanoTime() - t0) / 1e6
            m.outputToArgb(srPixels)
            val slot = (0 until 3).first { it != shown.get() && it != pending.get() }
            val lr = lrBitmaps[slot]!!
            val bilinear = bilinearBitmaps[slot]!!
            val sr = srBitmaps[slot]!!
            lr.setPixels(lrPixels, 0, lr.width, 0, 0, lr.width, lr.height)
            bilinearCanvases[slot]!!.drawBitmap(lr, null, outputRect, bilinearPaint)
            sr.setPixels(srPixels, 0, sr.width, 0, 0, sr.width, sr.height)
            val fps = fpsMeter.tick(System.nanoTime())
            val text = String.format(
                "%s · %s\ninference %.1f ms · %.1f fps%s",
                m.artifact.label,
                m.usedLabel,
                inferMs,
                fps,
                m.fallback?.let { "\n$it" } ?: ""
            )
            pending.set(slot)
            runOnUiThread {
                shown.set(slot)
                pending.compareAndSet(slot, -1)
                comparison.show(bilinear, sr)
                overlay.text = text
            }
        } catch (e: Exception) {
            failed = true
            runOnUiThread { overlay.text = getString(R.string.model_failed, LiteRtModel.oneLine(e)) }
        }
    }
}
