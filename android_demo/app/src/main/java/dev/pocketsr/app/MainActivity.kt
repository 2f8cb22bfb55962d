package dev.pocketsr.app

import android.content.Intent
import android.os.Bundle
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.Spinner
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity

/**
 * The model picker over bundle.json (model, precision, input size), the accelerator and CPU threads,
 * and the three modes. A bundle the core refuses (BundleException) is named here and nothing starts.
 */
class MainActivity : AppCompatActivity() {
    private lateinit var models: Spinner
    private lateinit var accels: Spinner
    private lateinit var threadsSpinner: Spinner
    private var offered: List<Accel> = listOf(Accel.CPU)

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        val status = findViewById(R.id.status) as TextView
        models = findViewById(R.id.models) as Spinner
        accels = findViewById(R.id.accels) as Spinner
        threadsSpinner = findViewById(R.id.threads) as Spinner
        val buttons = listOf(
            findViewById(R.id.live) as Button,
            findViewById(R.id.photo) as Button,
            findViewById(R.id.self_check) as Button
        )

        val loaded = BundleAssets.load(this)
        val bundle = loaded.bundle
        if (bundle == null) {
            status.text = loaded.error
            buttons.forEach { it.isEnabled = false }
            return
        }
        status.text = getString(R.string.bundle_summary, bundle.tflite().size, bundle.pocketsr, bundle.created)
        models.adapter = ArrayAdapter(
            this,
            android.R.layout.simple_spinner_dropdown_item,
            bundle.tflite().map { "${it.label} · ${it.io}" }
        )
        offered = LiteRtModel.offered(this)
        accels.adapter = ArrayAdapter(this, android.R.layout.simple_spinner_dropdown_item, offered.map { it.label })
        threadsSpinner.adapter = ArrayAdapter(
            this,
            android.R.layout.simple_spinner_dropdown_item,
            THREADS.map { "$it CPU threads" }
        )
        threadsSpinner.setSelection(THREADS.indexOf(4))

        buttons[0].setOnClickListener { open(LiveActivity::class.java) }
        buttons[1].setOnClickListener { open(PhotoActivity::class.java) }
        buttons[2].setOnClickListener { open(SelfCheckActivity::class.java) }
    }

    private fun open(activity: Class<*>) {
        val bundle = BundleAssets.load(this).bundle ?: return
        val artifact = bundle.tflite().getOrNull(models.selectedItemPosition) ?: return
        val intent = Intent(this, activity)
        intent.putExtra(EXTRA_ARTIFACT, artifact.file)
        intent.putExtra(EXTRA_ACCEL, offered.getOrElse(accels.selectedItemPosition) { Accel.CPU }.name)
        intent.putExtra(EXTRA_THREADS, THREADS.getOrElse(threadsSpinner.selectedItemPosition) { 4 })
        startActivity(intent)
    }

    companion object {
        const val EXTRA_ARTIFACT = "dev.pocketsr.app.ARTIFACT"
        const val EXTRA_ACCEL = "dev.pocketsr.app.ACCEL"
        const val EXTRA_THREADS = "dev.pocketsr.app.THREADS"
        val THREADS = listOf(1, 2, 4, 8)
    }
}
