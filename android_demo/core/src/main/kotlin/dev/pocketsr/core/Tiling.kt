package dev.pocketsr.core

/**
 * One tile of a [TilePlan] (validate/TILING.md, version 1), in LR pixels, ends exclusive.
 *
 * `y0..y1 x x0..x1` is the tile's input rectangle on the canvas (it extends past the image only
 * on an axis where the image is smaller than the tile: those pixels are edge-replicated);
 * `own*` is the rectangle of the image whose output this tile writes.
 */
data class Tile(val y0: Int, val y1: Int, val x0: Int, val x1: Int, val ownY0: Int, val ownY1: Int, val ownX0: Int, val ownX1: Int)

/** The tiles covering an `imageH x imageW` LR image for an artifact of input `tileH x tileW`. */
data class TilePlan(
    val imageH: Int,
    val imageW: Int,
    val tileH: Int,
    val tileW: Int,
    val overlap: Int,
    val scale: Int,
    val canvasH: Int,
    val canvasW: Int,
    val tiles: List<Tile>
)

/** Tile placement and ownership exactly as validate/TILING.md specifies (Python: runtime/tiling.py). */
object Tiling {
    /** Placement along one axis: `[start, end, ownStart, ownEnd]` per tile. */
    fun axis(n: Int, tile: Int, overlap: Int): List<IntArray> {
        require(n >= 1 && tile >= 1 && overlap >= 0) { "bad tiling: length $n, tile $tile, overlap $overlap" }
        if (n <= tile) return listOf(intArrayOf(0, tile, 0, n))
        val step = tile - 2 * overlap
        require(step > 0) { "overlap $overlap too large for tile $tile (needs tile > 2 * overlap)" }
        val starts = sortedSetOf<Int>()
        var s = 0
        while (s < n - tile) {
            starts.add(s)
            s += step
        }
        starts.add(n - tile)
        val list = starts.toList()
        return list.mapIndexed { i, p ->
            val own0 = if (i == 0) 0 else (list[i - 1] + tile + p) / 2
            val own1 = if (i == list.size - 1) n else (p + tile + list[i + 1]) / 2
            intArrayOf(p, p + tile, own0, own1)
        }
    }

    /**
     * The row-major tiling of an `imageH x imageW` image (LR pixels) for tiles of `tileH x tileW`
     * with [overlap] context pixels on inner sides and an output [scale].
     * Throws [IllegalArgumentException] on sizes < 1, a negative overlap, or `tile <= 2 * overlap`
     * on an axis that needs more than one tile.
     */
    fun plan(imageH: Int, imageW: Int, tileH: Int, tileW: Int, overlap: Int, scale: Int): TilePlan {
        require(scale >= 1) { "bad scale $scale" }
        val ys = axis(imageH, tileH, overlap)
        val xs = axis(imageW, tileW, overlap)
        val tiles = ys.flatMap { y -> xs.map { x -> Tile(y[0], y[1], x[0], x[1], y[2], y[3], x[2], x[3]) } }
        return TilePlan(imageH, imageW, tileH, tileW, overlap, scale, maxOf(imageH, tileH), maxOf(imageW, tileW), tiles)
    }

    /** Index of the tile whose output holds HR pixel ([hrY], [hrX]); -1 outside the image. */
    fun owner(plan: TilePlan, hrY: Int, hrX: Int): Int {
        val y = hrY / plan.scale
        val x = hrX / plan.scale
        return plan.tiles.indexOfFirst { y >= it.ownY0 && y < it.ownY1 && x >= it.ownX0 && x < it.ownX1 }
    }
}

/**
 * One model run on one tile: [input] NHWC float32 RGB in [0, 1], `tileH * tileW * 3` values;
 * [output] `(tileH * s) * (tileW * s) * 3` values (any range: clamped when converted to 8 bits).
 */
fun interface TileModel {
    fun run(input: FloatArray, output: FloatArray)
}

/**
 * Photo mode: upscales an 8-bit image of any size with a fixed-input-size model by [plan]'s
 * tiles. Memory: one tile's input and output as float arrays plus the caller's output image.
 */
class TiledUpscaler(val plan: TilePlan) {
    private val s = plan.scale
    private val input = FloatArray(plan.tileH * plan.tileW * 3)
    private val output = FloatArray(plan.tileH * s * plan.tileW * s * 3)

    /**
     * [src]: `imageH * imageW` ARGB ints (the order of `Bitmap.getPixels`); [dst]:
     * `(imageH * s) * (imageW * s)` ARGB ints, alpha 255. [progress] gets (tiles done, total)
     * after each tile; returns false (dst partly written) as soon as [isCancelled] says stop.
     * Throws [IllegalArgumentException] when the array sizes do not match the plan.
     */
    fun upscale(
        src: IntArray,
        model: TileModel,
        dst: IntArray,
        progress: (Int, Int) -> Unit = { _, _ -> },
        isCancelled: () -> Boolean = { false }
    ): Boolean {
        val h = plan.imageH
        val w = plan.imageW
        require(src.size == h * w) { "source has ${src.size} pixels, the plan ${h}x$w" }
        require(dst.size == h * s * w * s) { "destination has ${dst.size} pixels, needs ${h * s}x${w * s}" }
        val outW = plan.tileW * s
        for ((index, t) in plan.tiles.withIndex()) {
            if (isCancelled()) return false
            var i = 0
            for (y in t.y0 until t.y1) {
                val row = minOf(y, h - 1) * w // edge replication on the canvas
                for (x in t.x0 until t.x1) {
                    val p = src[row + minOf(x, w - 1)]
                    input[i] = Pixels.u8ToFloat((p shr 16) and 0xFF)
                    input[i + 1] = Pixels.u8ToFloat((p shr 8) and 0xFF)
                    input[i + 2] = Pixels.u8ToFloat(p and 0xFF)
                    i += 3
                }
            }
            model.run(input, output)
            for (hy in t.ownY0 * s until t.ownY1 * s) {
                var o = ((hy - t.y0 * s) * outW + (t.ownX0 - t.x0) * s) * 3
                var d = hy * w * s + t.ownX0 * s
                for (hx in t.ownX0 * s until t.ownX1 * s) {
                    dst[d++] = OutputPixels.argb(output[o], output[o + 1], output[o + 2])
                    o += 3
                }
            }
            progress(index + 1, plan.tiles.size)
        }
        return true
    }
}
