// COMPILE-ONLY STAND-IN, never shipped; signatures from google-ai-edge/LiteRT@f67457790c9c2ab67347d6fe53270e8d3df20868 litert/kotlin/src/main/kotlin/com/google/ai/edge/litert/Common.kt
package com.google.ai.edge.litert

enum class Accelerator { NONE, CPU, GPU, NPU }

abstract class JniHandle internal constructor() : AutoCloseable {
    protected abstract fun destroy()
    final override fun close(): Unit = TODO()
}
