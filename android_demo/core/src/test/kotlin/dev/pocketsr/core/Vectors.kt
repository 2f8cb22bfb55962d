package dev.pocketsr.core

import com.google.gson.JsonObject
import com.google.gson.JsonParser
import java.io.File

/** The shared vector files: POCKETSR_VECTORS_DIR when set, else the repository's validate/vectors. */
object Vectors {
    val dir: File = File(System.getenv("POCKETSR_VECTORS_DIR") ?: "../validate/vectors")

    fun json(name: String): JsonObject {
        val f = File(dir, name)
        check(f.isFile) { "vector file $f not found (set POCKETSR_VECTORS_DIR)" }
        return JsonParser.parseString(f.readText()).asJsonObject
    }
}
