package dev.pocketsr.app

import android.Manifest
import android.content.ContentValues
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.Matrix
import android.media.ExifInterface
import android.net.Uri
import android.os.Build
import android.os.Bundle
import android.os.Environment
import android.provider.MediaStore
import android.view.View
import android.widget.Button
import android.widget.ImageView
import android.widget.ProgressBar
import android.widget.TextView
import androidx.activity.result.ActivityResultLauncher
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.core.content.ContextCompat
import dev.pocketsr.core.BundleArtifact
import dev.pocketsr.core.TiledUpscaler
import dev.pocketsr.core.Tiling
import java.io.File
import java.io.FileOutputStream
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicBoolean

/**
 * Photo mode: pick a photo, upscale it x4 tile by tile (the core's Tiling.plan + TiledUpscaler with the
 * artifact's default overlap), show progress, cancel, save the result to the gallery as PNG.
 */
class PhotoActivity : AppCompatActivity() {
    private lateinit var status: TextView
    private lateinit var progress: ProgressBar
    private lateinit var image: ImageView
    private lateinit var pick: Button
    private lateinit var cancel: Button
    private lateinit var save: Button
    private lateinit var picker: ActivityResultLauncher<PickVisualMediaRequest>
    private lateinit var storagePermission: ActivityResultLauncher<String>
    private lateinit var worker: ExecutorService

    private var artifact: BundleArtifact? = null
    private var accel = Accel.CPU
    private var threads = 4
    private val cancelled = AtomicBoolean(false)
    private var result: Bitmap? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_photo)
        status = findViewById(R.id.status) as TextView
        progress = findViewById(R.id.progress) as ProgressBar
        image = findViewById(R.id.image) as ImageView
        pick = findViewById(R.id.pick) as Button
        cancel = findViewById(R.id.cancel) as Button
        save = findViewById(R.id.save) as Button
        worker = Executors.newSingleThreadExecutor()

        val loaded = BundleAssets.load(this)
        artifact = BundleAssets.artifact(this, intent.getStringExtra(MainActivity.EXTRA_ARTIFACT))
        accel = Accel.byName(intent.getStringExtra(MainActivity.EXTRA_ACCEL))
        threads = intent.getIntExtra(MainActivity.EXTRA_THREADS, 4)
        if (artifact == null) {
            status.text = loaded.error ?: getString(R.string.no_model)
            pick.isEnabled = false
        }

        picker = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
            if (uri != null) upscale(uri)
        }
        storagePermission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
            if (granted) saveResult() else status.text = getString(R.string.storage_denied)
        }
        pick.setOnClickListener {
            picker.launch(
                PickVisualMediaRequest.Builder()
                    .setMediaType(ActivityResultContracts.PickVisualMedia.SingleMimeType("image/*"))
                    .build()
            )
        }
        cancel.setOnClickListener { cancelled.set(true) }
        save.setOnClickListener {
            if (Build.VERSION.SDK_INT < 29 &&
                ContextCompat.checkSelfPermission(this, Manifest.permission.WRITE_EXTERNAL_STORAGE) != PackageManager.PERMISSION_GRANTED
            ) {
                storagePermission.launch(Manifest.permission.WRITE_EXTERNAL_STORAGE)
            } else {
                saveResult()
            }
        }
        setBusy(false)
        save.isEnabled = false
    }

    override fun onDestroy() {
        cancelled.set(true)
        worker.shutdown()
        super.onDestroy()
    }

    private fun setBusy(busy: Boolean) {
        pick.isEnabled = !busy && artifact != null
        cancel.isEnabled = busy
        save.isEnabled = !busy && result != null
        progress.visibility = if (busy) View.VISIBLE else View.INVISIBLE
    }

    private fun upscale(uri: Uri) {
        val a = artifact ?: return
        cancelled.set(false)
        result = null
        setBusy(true)
        status.text = getString(R.string.loading_model)
        worker.execute {
            var model: LiteRtModel? = null
            try {
                val src = decode(uri, MAX_INPUT_PIXELS)
                val h = src.height
                val w = src.width
                val pixels = IntArray(w * h)
                src.getPixels(pixels, 0, w, 0, 0, w, h)
                src.recycle()
                val m = LiteRtModel.open(this, a, accel, threads)
                model = m
                val plan = Tiling.plan(h, w, a.tileH, a.tileW, a.defaultOverlap, a.scale)
                val out = IntArray(h * a.scale * w * a.scale)
                val seams = when {
                    a.exactTiling -> ""
                    a.seamPsnrDb != null -> "\n" + getString(R.string.seams_not_local, a.seamPsnrDb)
                    else -> "\n" + getString(R.string.seams_approximate)
                }
                val note = (m.fallback?.let { "\n$it" } ?: "") + seams
                runOnUiThread {
                    progress.max = plan.tiles.size
                    status.text = "${w}x$h -> ${w * a.scale}x${h * a.scale} · ${m.usedLabel}$note"
                }
                val t0 = System.nanoTime()
                val done = TiledUpscaler(plan).upscale(
                    pixels,
                    m.tileModel(),
                    out,
                    progress = { d, total ->
                        runOnUiThread {
                            progress.progress = d
                            progress.max = total
                        }
                    },
                    isCancelled = { cancelled.get() }
                )
                val secs = (System.nanoTime() - t0) / 1e9
                if (!done) {
                    runOnUiThread {
                        status.text = getString(R.string.cancelled)
                        setBusy(false)
                    }
                } else {
                    val bmp = Bitmap.createBitmap(out, w * a.scale, h * a.scale, Bitmap.Config.ARGB_8888)
                    runOnUiThread {
                        result = bmp
                        image.setImageBitmap(bmp)
                        status.text = String.format(
                            "%dx%d -> %dx%d in %.1f s, %d tiles (overlap %d) · %s%s",
                            w, h, bmp.width, bmp.height, secs, plan.tiles.size, a.defaultOverlap, m.usedLabel, note
                        )
                        setBusy(false)
                    }
                }
            } catch (e: OutOfMemoryError) {
                runOnUiThread {
                    status.text = getString(R.string.too_large)
                    setBusy(false)
                }
            } catch (e: Exception) {
                runOnUiThread {
                    status.text = getString(R.string.photo_failed, LiteRtModel.oneLine(e))
                    setBusy(false)
                }
            } finally {
                model?.close()
            }
        }
    }

    /** Decodes [uri] as ARGB_8888, halving it until it has at most [maxPixels] pixels (the x4 output is 16x that). */
    private fun decode(uri: Uri, maxPixels: Int): Bitmap {
        val bounds = BitmapFactory.Options()
        bounds.inJustDecodeBounds = true
        contentResolver.openInputStream(uri).use { BitmapFactory.decodeStream(it, null, bounds) }
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) throw IllegalArgumentException("not a decodable image")
        var sample = 1
        while ((bounds.outWidth / sample).toLong() * (bounds.outHeight / sample) > maxPixels) sample *= 2
        val opts = BitmapFactory.Options()
        opts.inSampleSize = sample
        opts.inPreferredConfig = Bitmap.Config.ARGB_8888
        val bmp = contentResolver.openInputStream(uri).use { BitmapFactory.decodeStream(it, null, opts) }
            ?: throw IllegalArgumentException("not a decodable image")
        return upright(bmp, uri)
    }

    /** Camera photos are often stored sideways with an EXIF orientation: turn them upright (quarter turns are exact). */
    private fun upright(bmp: Bitmap, uri: Uri): Bitmap {
        val orientation = try {
            contentResolver.openInputStream(uri)?.use {
                ExifInterface(it).getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL)
            } ?: ExifInterface.ORIENTATION_NORMAL
        } catch (e: Exception) {
            ExifInterface.ORIENTATION_NORMAL
        }
        val degrees = when (orientation) {
            ExifInterface.ORIENTATION_ROTATE_90 -> 90f
            ExifInterface.ORIENTATION_ROTATE_180 -> 180f
            ExifInterface.ORIENTATION_ROTATE_270 -> 270f
            else -> return bmp
        }
        val m = Matrix()
        m.postRotate(degrees)
        val turned = Bitmap.createBitmap(bmp, 0, 0, bmp.width, bmp.height, m, false)
        if (turned !== bmp) bmp.recycle()
        return turned
    }

    private fun saveResult() {
        val bmp = result ?: return
        save.isEnabled = false
        worker.execute {
            val name = "pocketsr_${System.currentTimeMillis()}.png"
            try {
                if (Build.VERSION.SDK_INT >= 29) {
                    val values = ContentValues()
                    values.put(MediaStore.MediaColumns.DISPLAY_NAME, name)
                    values.put(MediaStore.MediaColumns.MIME_TYPE, "image/png")
                    values.put(MediaStore.MediaColumns.RELATIVE_PATH, Environment.DIRECTORY_PICTURES + "/pocketsr")
                    values.put(MediaStore.MediaColumns.IS_PENDING, 1)
                    val uri = contentResolver.insert(MediaStore.Images.Media.EXTERNAL_CONTENT_URI, values)
                        ?: throw IllegalStateException("MediaStore refused the new image")
                    val stream = contentResolver.openOutputStream(uri) ?: throw IllegalStateException("cannot write $uri")
                    stream.use { bmp.compress(Bitmap.CompressFormat.PNG, 100, it) }
                    values.clear()
                    values.put(MediaStore.MediaColumns.IS_PENDING, 0)
                    contentResolver.update(uri, values, null, null)
                } else {
                    @Suppress("DEPRECATION")
                    val dir = File(Environment.getExternalStoragePublicDirectory(Environment.DIRECTORY_PICTURES), "pocketsr")
                    dir.mkdirs()
                    val file = File(dir, name)
                    FileOutputStream(file).use { bmp.compress(Bitmap.CompressFormat.PNG, 100, it) }
                    val values = ContentValues()
                    values.put(MediaStore.MediaColumns.DISPLAY_NAME, name)
                    values.put(MediaStore.MediaColumns.MIME_TYPE, "image/png")
                    @Suppress("DEPRECATION")
                    values.put(MediaStore.MediaColumns.DATA, file.absolutePath)
                    contentResolver.insert(MediaStore.Images.Media.EXTERNAL_CONTENT_URI, values)
                }
                runOnUiThread {
                    status.text = getString(R.string.saved, name)
                    save.isEnabled = true
                }
            } catch (e: Exception) {
                runOnUiThread {
                    status.text = getString(R.string.save_failed, LiteRtModel.oneLine(e))
                    save.isEnabled = true
                }
            }
        }
    }

    companion object {
        /** 1 MP in -> 16 MP out (64 MB of ARGB twice: the stitched IntArray and the Bitmap). */
        const val MAX_INPUT_PIXELS = 1_000_000
    }
}
