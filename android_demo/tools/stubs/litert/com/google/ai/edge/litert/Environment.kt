// COMPILE-ONLY STAND-IN, never shipped; signatures from google-ai-edge/LiteRT@f67457790c9c2ab67347d6fe53270e8d3df20868 litert/kotlin/src/main/kotlin/com/google/ai/edge/litert/Environment.kt
// (the NpuAcceleratorProvider overloads are left out: the app does not use them).
package com.google.ai.edge.litert

import android.content.Context

class Environment private constructor() : JniHandle() {
    enum class Option { CompilerPluginLibraryDir, DispatchLibraryDir, SystemRuntimeHandle, SystemGpuAcceleratorHandle }

    override fun destroy(): Unit = TODO()

    @Throws(LiteRtException::class)
    fun getAvailableAccelerators(): Set<Accelerator> = TODO()

    companion object {
        @Throws(LiteRtException::class)
        @JvmOverloads
        @JvmStatic
        fun create(context: Context, options: Map<Option, String> = mapOf(), enableCompilerCache: Boolean = true): Environment = TODO()

        @Throws(LiteRtException::class)
        @JvmOverloads
        @JvmStatic
        fun create(options: Map<Option, String> = mapOf()): Environment = TODO()
    }
}
