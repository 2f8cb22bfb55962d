// COMPILE-ONLY STAND-IN, never shipped; signatures from google-ai-edge/LiteRT@f67457790c9c2ab67347d6fe53270e8d3df20868 litert/kotlin/src/main/kotlin/com/google/ai/edge/litert/Model.kt
// (QualcommOptions, TensorType and the buffer-requirement/tensor-type queries are left out: unused by the app).
package com.google.ai.edge.litert

import android.content.res.AssetManager

class CompiledModel private constructor() : JniHandle() {
    data class CpuOptions(val numThreads: Int? = null, val xnnPackFlags: Int? = null, val xnnPackWeightCachePath: String? = null)

    data class GpuOptions(
        val constantTensorSharing: Boolean? = null,
        val infiniteFloatCapping: Boolean? = null,
        val allowSrcQuantizedFcConvOps: Boolean? = null,
        val precision: Precision? = null,
        val bufferStorageType: BufferStorageType? = null,
        val preferTextureWeights: Boolean? = null,
        val serializationDir: String? = null,
        val modelCacheKey: String? = null,
        val serializeProgramCache: Boolean? = null,
        val serializeExternalTensors: Boolean? = null,
        val externalTensorsMode: Boolean? = null,
        val externalTensorPattern: String? = null,
        val backend: Backend? = null,
        val priority: Priority? = null,
        val numStepsOfCommandBufferPreparations: Int? = null,
    ) {
        enum class Precision { DEFAULT, FP16, FP32, FP16_WITH_FP32_ACCUM }
        enum class BufferStorageType { DEFAULT, BUFFER, TEXTURE_2D }
        enum class Backend { AUTOMATIC, OPENCL, WEBGPU, OPENGL }
        enum class Priority { DEFAULT, LOW, NORMAL, HIGH }
    }

    class Options(accelerators: Set<Accelerator>) {
        constructor(vararg accelerators: Accelerator) : this(setOf(*accelerators))
        var cpuOptions: CpuOptions? = null
        var gpuOptions: GpuOptions? = null

        companion object {
            @JvmStatic val CPU: Options = TODO()
        }
    }

    @Throws(LiteRtException::class) fun createInputBuffer(inputName: String, signature: String = ""): TensorBuffer = TODO()
    @Throws(LiteRtException::class) fun createOutputBuffer(outputName: String, signature: String = ""): TensorBuffer = TODO()
    @Throws(LiteRtException::class) @JvmOverloads fun createInputBuffers(signatureIndex: Int = 0): List<TensorBuffer> = TODO()
    @Throws(LiteRtException::class) fun createInputBuffers(signature: String): List<TensorBuffer> = TODO()
    @Throws(LiteRtException::class) @JvmOverloads fun createOutputBuffers(signatureIndex: Int = 0): List<TensorBuffer> = TODO()
    @Throws(LiteRtException::class) fun createOutputBuffers(signature: String): List<TensorBuffer> = TODO()
    @Throws(LiteRtException::class) @JvmOverloads fun run(inputs: List<TensorBuffer>, signatureIndex: Int = 0): List<TensorBuffer> = TODO()
    @Throws(LiteRtException::class) fun run(inputs: List<TensorBuffer>, signature: String): List<TensorBuffer> = TODO()
    @Throws(LiteRtException::class) @JvmOverloads fun run(inputs: List<TensorBuffer>, outputs: List<TensorBuffer>, signatureIndex: Int = 0): Unit = TODO()
    @Throws(LiteRtException::class) fun run(inputs: List<TensorBuffer>, outputs: List<TensorBuffer>, signature: String): Unit = TODO()
    @Throws(LiteRtException::class) fun run(inputs: Map<String, TensorBuffer>, outputs: Map<String, TensorBuffer>, signature: String = ""): Unit = TODO()
    override fun destroy(): Unit = TODO()

    companion object {
        @Throws(LiteRtException::class)
        @JvmOverloads
        @JvmStatic
        fun create(assetManager: AssetManager, assetName: String, options: Options = Options.CPU, optionalEnv: Environment? = null): CompiledModel = TODO()

        @Throws(LiteRtException::class)
        @JvmOverloads
        @JvmStatic
        fun create(filePath: String, options: Options = Options.CPU, optionalEnv: Environment? = null): CompiledModel = TODO()
    }
}
