// COMPILE-ONLY STAND-IN, never shipped; signatures from google-ai-edge/LiteRT@f67457790c9c2ab67347d6fe53270e8d3df20868 litert/kotlin/src/main/kotlin/com/google/ai/edge/litert/TensorBuffer.kt
// Note what the real class has: only allocating reads (readFloat(): FloatArray ...), no read into a caller's array.
package com.google.ai.edge.litert

class TensorBuffer internal constructor() : JniHandle() {
    @Throws(LiteRtException::class) fun writeInt(data: IntArray): Unit = TODO()
    @Throws(LiteRtException::class) fun writeFloat(data: FloatArray): Unit = TODO()
    @Throws(LiteRtException::class) fun writeInt8(data: ByteArray): Unit = TODO()
    @Throws(LiteRtException::class) fun writeBoolean(data: BooleanArray): Unit = TODO()
    @Throws(LiteRtException::class) fun writeLong(data: LongArray): Unit = TODO()
    @Throws(LiteRtException::class) fun readInt(): IntArray = TODO()
    @Throws(LiteRtException::class) fun readFloat(): FloatArray = TODO()
    @Throws(LiteRtException::class) fun readInt8(): ByteArray = TODO()
    @Throws(LiteRtException::class) fun readBoolean(): BooleanArray = TODO()
    @Throws(LiteRtException::class) fun readLong(): LongArray = TODO()
    override fun destroy(): Unit = TODO()
}
