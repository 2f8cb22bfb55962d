package dev.pocketsr.app

import android.content.Context
import android.content.res.AssetManager
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import dev.pocketsr.core.Bundle
import dev.pocketsr.core.BundleArtifact
import dev.pocketsr.core.BundleException
import java.io.FileNotFoundException

/** The bundle copied into assets/bundle/ by import_bundle.sh or `:app:importBundle`. */
object BundleAssets {
    const val DIR = "bundle"

    /** Either a parsed bundle or the one-line reason the app refuses it (shown on screen). */
    class Loaded(val bundle: Bundle?, val error: String?)

    @Volatile private var cached: Loaded? = null

    fun load(context: Context): Loaded {
        cached?.let { return it }
        val loaded = try {
            val json = context.assets.open("$DIR/bundle.json").use { String(it.readBytes(), Charsets.UTF_8) }
            val bundle = Bundle.parse(json)
            val missing = bundle.tflite().map { it.file }.filter { !exists(context.assets, "$DIR/$it") }
            when {
                bundle.tflite().isEmpty() -> Loaded(null, "The bundle has no TFLite artifact (Core ML only?).")
                missing.isNotEmpty() -> Loaded(null, "Model file missing from the APK: ${missing.joinToString()}. Re-run import_bundle.sh.")
                else -> Loaded(bundle, null)
            }
        } catch (e: FileNotFoundException) {
            Loaded(
                null,
                "No bundle in the APK: run `android_demo/import_bundle.sh BUNDLE` (from `pocketsr convert ... --bundle BUNDLE`) and rebuild."
            )
        } catch (e: BundleException) {
            Loaded(null, "This app cannot use the bundled bundle.json: ${e.message}")
        } catch (e: Exception) {
            Loaded(null, "Could not read the bundle: ${e.message ?: e.javaClass.simpleName}")
        }
        cached = loaded
        return loaded
    }

    fun artifact(context: Context, file: String?): BundleArtifact? = load(context).bundle?.tflite()?.firstOrNull { it.file == file }

    fun modelAsset(a: BundleArtifact): String = "$DIR/${a.file}"

    fun readBytes(assets: AssetManager, relative: String): ByteArray = assets.open("$DIR/$relative").use { it.readBytes() }

    /** A golden LR PNG as ARGB_8888 (no scaling: the decoder must not resample the pixels). */
    fun decodePng(assets: AssetManager, relative: String): Bitmap {
        val opts = BitmapFactory.Options()
        opts.inPreferredConfig = Bitmap.Config.ARGB_8888
        opts.inScaled = false
        return assets.open("$DIR/$relative").use { BitmapFactory.decodeStream(it, null, opts) }
            ?: throw IllegalArgumentException("$relative is not a decodable PNG")
    }

    private fun exists(assets: AssetManager, path: String): Boolean = try {
        assets.open(path).close()
        true
    } catch (e: Exception) {
        false
    }
}
