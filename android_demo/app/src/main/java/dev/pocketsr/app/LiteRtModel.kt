package dev.pocketsr.app

import android.content.Context
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Environment
import com.google.ai.edge.litert.TensorBuffer
import dev.pocketsr.core.BundleArtifact
import dev.pocketsr.core.InputKind
import dev.pocketsr.core.OutputPixels
import dev.pocketsr.core.Pixels
import dev.pocketsr.core.TileModel

/** What the user can ask for. [requested]/[gpuPrecision] are the device report's names. */
enum class Accel(val label: String, val requested: String, val gpuPrecision: String?, val fp16Arithmetic: Boolean) {
    CPU("CPU", "cpu", null, false),
    GPU_FP32("GPU FP32", "gpu", "fp32", false),
    GPU_FP16("GPU FP16", "gpu", "fp16", true),

    // NPUs compute in fp16 or lower; the fp16 gate applies.
    NPU("NPU", "npu", null, true);

    companion object {
        fun byName(name: String?): Accel = values().firstOrNull { it.name == name } ?: CPU
    }
}

/**
 * One LiteRT CompiledModel for one artifact, with its input/output TensorBuffers made once.
 * Opening never throws for an accelerator problem: a GPU/NPU that is not offered or refuses the
 * model falls back to the CPU, and [fallback] says why (shown on screen, written to the report).
 * Not thread-safe: use it from one thread (the model thread) only.
 */
class LiteRtModel private constructor(
    val artifact: BundleArtifact,
    val requested: Accel,
    /** What actually runs after any fallback ([Accel.CPU] after a fallback). */
    val used: Accel,
    val fallback: String?,
    val threads: Int?,
    /** Model load (CompiledModel.create) in ms, without the probe run. */
    val firstLoadMs: Double,
    private val env: Environment,
    private val model: CompiledModel,
    private val inputs: List<TensorBuffer>,
    private val outputs: List<TensorBuffer>
) : AutoCloseable {
    val inputInt8: Boolean = artifact.inputKind == InputKind.INT8
    val outputInt8: Boolean = artifact.outputKind == InputKind.INT8
    val inputSize: Int = artifact.inputH * artifact.inputW * 3
    val outputSize: Int = artifact.outputH * artifact.outputW * 3
    private val zeroPoint: Int = artifact.output.zeroPoint ?: 0

    // Reused by every call: the only per-run allocation left is inside LiteRT's read (see readOutput).
    val floatOut = FloatArray(if (outputInt8) 0 else outputSize)
    val int8Out = ByteArray(if (outputInt8) outputSize else 0)
    private val tileIn8 = ByteArray(if (inputInt8) inputSize else 0)

    /** The label of what runs, e.g. "GPU FP16" or "CPU (4 threads)"; NPU partitions are not visible from Kotlin. */
    val usedLabel: String
        get() = when (used) {
            Accel.CPU -> "CPU (${threads ?: "default"} threads)"
            Accel.NPU -> "NPU (+CPU for unsupported ops)"
            else -> used.label
        }

    fun writeInput(input: FloatArray) = inputs[0].writeFloat(input)

    /** int8-full input: the bytes are already `uint8 - 128` (FramePreprocessor.toInt8). */
    fun writeInput(input: ByteArray) = inputs[0].writeInt8(input)

    fun invoke() = model.run(inputs, outputs)

    /**
     * LiteRT 2.x's TensorBuffer has only allocating reads (readFloat(): FloatArray, readInt8(): ByteArray),
     * no read into a caller's array: each call allocates one output-sized array, which we copy into the
     * reused [floatOut]/[int8Out] and drop. Everything else on the hot path is reused.
     */
    fun readOutput() {
        if (outputInt8) {
            val q = outputs[0].readInt8()
            System.arraycopy(q, 0, int8Out, 0, outputSize)
        } else {
            val y = outputs[0].readFloat()
            System.arraycopy(y, 0, floatOut, 0, outputSize)
        }
    }

    /** The last output as ARGB pixels (outputH*outputW) by the TILING.md float->uint8 rule. */
    fun outputToArgb(dst: IntArray) {
        if (outputInt8) OutputPixels.int8ToArgb(int8Out, zeroPoint, dst) else OutputPixels.floatToArgb(floatOut, dst)
    }

    /** The float [0,1] tile interface of the core's TiledUpscaler; int8-full artifacts are converted here. */
    fun tileModel(): TileModel = TileModel { input, output ->
        if (inputInt8) {
            for (i in 0 until inputSize) tileIn8[i] = (Pixels.floatToU8(input[i]) - 128).toByte()
            writeInput(tileIn8)
        } else {
            writeInput(input)
        }
        invoke()
        readOutput()
        if (outputInt8) {
            for (i in 0 until outputSize) output[i] = (int8Out[i] - zeroPoint) / 255f
        } else {
            System.arraycopy(floatOut, 0, output, 0, outputSize)
        }
    }

    override fun close() {
        inputs.forEach { it.close() }
        outputs.forEach { it.close() }
        model.close()
        env.close()
    }

    companion object {
        /** The accelerators LiteRT offers on this device (CPU always; GPU needs litert-gpu and a driver). */
        fun available(context: Context): Set<Accelerator> = try {
            Environment.create(context).use { it.getAvailableAccelerators() }
        } catch (e: Exception) {
            setOf(Accelerator.CPU)
        } catch (e: LinkageError) { // no LiteRT native library for this ABI: open() says so
            setOf(Accelerator.CPU)
        }

        /** The accelerators of [Accel] this device offers, in menu order. */
        fun offered(context: Context): List<Accel> {
            val av = available(context)
            return Accel.values().filter {
                when (it) {
                    Accel.CPU -> true
                    Accel.GPU_FP32, Accel.GPU_FP16 -> Accelerator.GPU in av
                    Accel.NPU -> Accelerator.NPU in av
                }
            }
        }

        private fun options(accel: Accel, threads: Int?): CompiledModel.Options = when (accel) {
            Accel.CPU -> CompiledModel.Options(Accelerator.CPU).also {
                it.cpuOptions = CompiledModel.CpuOptions(numThreads = threads)
            }

            // GPU alone (no CPU in the set): a GPU that cannot take the model throws instead of
            // silently running on the CPU, so the fallback below is seen and reported.
            Accel.GPU_FP32 -> CompiledModel.Options(Accelerator.GPU).also {
                it.gpuOptions = CompiledModel.GpuOptions(precision = CompiledModel.GpuOptions.Precision.FP32)
            }

            Accel.GPU_FP16 -> CompiledModel.Options(Accelerator.GPU).also {
                it.gpuOptions = CompiledModel.GpuOptions(precision = CompiledModel.GpuOptions.Precision.FP16)
            }

            // LiteRT itself adds the CPU for ops the NPU does not take.
            Accel.NPU -> CompiledModel.Options(Accelerator.NPU)
        }

        /**
         * Opens [artifact] on [accel], falling back to the CPU (with [threads]) when the accelerator is not
         * offered, cannot compile the model or fails its first (probe) run. Throws only when the CPU fails too
         * (missing or broken model file): the caller shows that message.
         */
        fun open(context: Context, artifact: BundleArtifact, accel: Accel, threads: Int): LiteRtModel {
            val offered = offered(context)
            var fallback: String? = null
            if (accel != Accel.CPU) {
                if (accel !in offered) {
                    fallback = "${accel.label} not offered by LiteRT on this device -> CPU"
                } else {
                    try {
                        return create(context, artifact, accel, accel, null, null)
                    } catch (e: Exception) {
                        fallback = "${accel.label} refused: ${oneLine(e)} -> CPU"
                    } catch (e: LinkageError) {
                        fallback = "${accel.label} library not loadable: ${oneLine(e)} -> CPU"
                    }
                }
            }
            try {
                return create(context, artifact, accel, Accel.CPU, threads, fallback)
            } catch (e: LinkageError) {
                throw IllegalStateException("LiteRT's native library cannot be loaded on this device: ${oneLine(e)}")
            }
        }

        private fun create(
            context: Context,
            artifact: BundleArtifact,
            requested: Accel,
            used: Accel,
            threads: Int?,
            fallback: String?
        ): LiteRtModel {
            val env = Environment.create(context)
            var model: CompiledModel? = null
            var inputs: List<TensorBuffer> = emptyList()
            var outputs: List<TensorBuffer> = emptyList()
            try {
                val t0 = System.nanoTime()
                model = CompiledModel.create(context.assets, BundleAssets.modelAsset(artifact), options(used, threads), env)
                val loadMs = (System.nanoTime() - t0) / 1e6
                inputs = model.createInputBuffers()
                outputs = model.createOutputBuffers()
                val m = LiteRtModel(artifact, requested, used, fallback, threads, loadMs, env, model, inputs, outputs)
                // Probe run on zeros: some GPU delegates accept a model and fail on the first run.
                if (m.inputInt8) m.writeInput(ByteArray(m.inputSize)) else m.writeInput(FloatArray(m.inputSize))
                m.invoke()
                return m
            } catch (e: Throwable) {
                inputs.forEach { it.close() }
                outputs.forEach { it.close() }
                model?.close()
                env.close()
                throw e
            }
        }

        fun oneLine(e: Throwable): String =
            (e.message ?: e.javaClass.simpleName).lineSequence().firstOrNull()?.take(200) ?: e.javaClass.simpleName
    }
}
