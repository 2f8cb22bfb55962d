package dev.pocketsr.core

import java.nio.ByteBuffer
import java.nio.ByteOrder

/** A golden array read from a NumPy `.npy` file: row-major values and shape. */
class NpyArray(val shape: IntArray, val values: DoubleArray)

/**
 * Reads NumPy format 1.0/2.0 files holding little-endian float32 (`<f4`) or float16 (`<f2`)
 * in C order, as `validate/PARITY.md` specifies for golden outputs. Other files are refused
 * with an [IllegalArgumentException] saying why.
 */
object Npy {
    private val MAGIC = byteArrayOf(
        0x93.toByte(),
        'N'.code.toByte(),
        'U'.code.toByte(),
        'M'.code.toByte(),
        'P'.code.toByte(),
        'Y'.code.toByte()
    )

    fun read(bytes: ByteArray): NpyArray {
        require(bytes.size >= 10 && bytes.copyOfRange(0, 6).contentEquals(MAGIC)) { "not a .npy file" }
        val major = bytes[6].toInt()
        val buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
        val (headerLen, start) = when (major) {
            1 -> Pair(buf.getShort(8).toInt() and 0xffff, 10)
            2, 3 -> Pair(buf.getInt(8), 12)
            else -> throw IllegalArgumentException("unsupported .npy version $major")
        }
        val header = String(bytes, start, headerLen, Charsets.ISO_8859_1)
        val descr = Regex("'descr':\\s*'([^']+)'").find(header)?.groupValues?.get(1)
            ?: throw IllegalArgumentException("no descr in .npy header")
        require(!Regex("'fortran_order':\\s*True").containsMatchIn(header)) { "Fortran-order .npy not supported" }
        val shapeText = Regex("'shape':\\s*\\(([^)]*)\\)").find(header)?.groupValues?.get(1)
            ?: throw IllegalArgumentException("no shape in .npy header")
        val shape = shapeText.split(',').map { it.trim() }.filter { it.isNotEmpty() }.map { it.toInt() }.toIntArray()
        val count = shape.fold(1) { a, b -> a * b }
        val data = start + headerLen
        val values = DoubleArray(count)
        when (descr) {
            "<f4" -> {
                require(bytes.size >= data + 4 * count) { "truncated .npy data" }
                for (i in 0 until count) values[i] = buf.getFloat(data + 4 * i).toDouble()
            }

            "<f2" -> {
                require(bytes.size >= data + 2 * count) { "truncated .npy data" }
                for (i in 0 until count) values[i] = halfToDouble(buf.getShort(data + 2 * i).toInt() and 0xffff)
            }

            else -> throw IllegalArgumentException("unsupported .npy dtype $descr (expected <f4 or <f2)")
        }
        return NpyArray(shape, values)
    }

    /** IEEE 754 binary16 -> double, exactly (subnormals, infinities and NaN included). */
    fun halfToDouble(h: Int): Double {
        val sign = if (h and 0x8000 != 0) -1.0 else 1.0
        val exp = (h shr 10) and 0x1f
        val frac = h and 0x3ff
        return when (exp) {
            0 -> sign * frac * Math.pow(2.0, -24.0)
            0x1f -> if (frac == 0) sign * Double.POSITIVE_INFINITY else Double.NaN
            else -> sign * (1.0 + frac / 1024.0) * Math.pow(2.0, (exp - 15).toDouble())
        }
    }
}
