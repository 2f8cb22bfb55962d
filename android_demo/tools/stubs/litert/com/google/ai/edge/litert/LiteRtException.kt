// COMPILE-ONLY STAND-IN, never shipped; signatures from google-ai-edge/LiteRT@f67457790c9c2ab67347d6fe53270e8d3df20868 litert/kotlin/src/main/kotlin/com/google/ai/edge/litert/LiteRtException.kt
package com.google.ai.edge.litert

class LiteRtException(code: Int, message: String) : Exception(message)
