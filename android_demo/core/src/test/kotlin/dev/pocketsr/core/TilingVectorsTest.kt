package dev.pocketsr.core

import kotlin.random.Random
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class TilingVectorsTest {
    private val vectors = Vectors.json("tiling.json")

    @Test
    fun everyCaseIsPlannedAsTheVectorsSay() {
        assertEquals(1, vectors["version"].asInt)
        val cases = vectors["cases"].asJsonArray
        assertTrue(cases.size() >= 10)
        for (c in cases) {
            val o = c.asJsonObject
            val name = o["name"].asString
            val image = o["image"].asJsonArray.map { it.asInt }
            val tile = o["tile"].asJsonArray.map { it.asInt }
            val plan = Tiling.plan(image[0], image[1], tile[0], tile[1], o["overlap"].asInt, o["scale"].asInt)
            assertEquals(name, o["canvas"].asJsonArray.map { it.asInt }, listOf(plan.canvasH, plan.canvasW))
            val want = o["tiles"].asJsonArray.map { it.asJsonObject }
            assertEquals(name, want.size, plan.tiles.size)
            for ((t, w) in plan.tiles.zip(want)) {
                val got = listOf(t.y0, t.y1, t.x0, t.x1, t.ownY0, t.ownY1, t.ownX0, t.ownX1)
                val exp = listOf("y0", "y1", "x0", "x1", "own_y0", "own_y1", "own_x0", "own_x1").map { w[it].asInt }
                assertEquals(name, exp, got)
                val s = plan.scale
                assertEquals(name, w["hr_own"].asJsonArray.map { it.asInt }, listOf(t.ownY0 * s, t.ownY1 * s, t.ownX0 * s, t.ownX1 * s))
            }
            for (sample in o["owner_samples"].asJsonArray) {
                val (y, x, idx) = sample.asJsonArray.map { it.asInt }
                assertEquals("$name owner of ($y, $x)", idx, Tiling.owner(plan, y, x))
            }
        }
    }

    @Test(expected = IllegalArgumentException::class)
    fun overlapThatStopsTilesFromAdvancingIsRefused() {
        Tiling.plan(100, 100, 40, 40, 20, 4)
    }

    /** A local "model": x2 nearest upscale of a 3x3 box mean with zero padding (radius 1), like a conv. */
    private fun boxModel(h: Int, w: Int) = TileModel { input, output ->
        for (y in 0 until h * 2) {
            for (x in 0 until w * 2) {
                for (c in 0 until 3) {
                    var sum = 0f
                    for (dy in -1..1) {
                        for (dx in -1..1) {
                            val yy = y / 2 + dy
                            val xx = x / 2 + dx
                            if (yy in 0 until h && xx in 0 until w) sum += input[(yy * w + xx) * 3 + c]
                        }
                    }
                    output[(y * w * 2 + x) * 3 + c] = sum / 9f
                }
            }
        }
    }

    private fun tiled(img: IntArray, h: Int, w: Int, overlap: Int): IntArray {
        val plan = Tiling.plan(h, w, 16, 20, overlap, 2)
        val dst = IntArray(h * 2 * w * 2)
        assertTrue(TiledUpscaler(plan).upscale(img, boxModel(16, 20), dst))
        return dst
    }

    @Test
    fun stitchingWithOverlapAtLeastTheRadiusEqualsWholeImageInference() {
        val h = 37
        val w = 53
        val rnd = Random(7)
        val img = IntArray(h * w) { (0xFF shl 24) or rnd.nextInt(0x1000000) }
        val input = FloatArray(h * w * 3)
        for (i in img.indices) for (c in 0 until 3) input[i * 3 + c] = Pixels.u8ToFloat((img[i] shr (16 - 8 * c)) and 0xFF)
        val whole = FloatArray(h * 2 * w * 2 * 3)
        boxModel(h, w).run(input, whole)
        val expected = IntArray(h * 2 * w * 2)
        OutputPixels.floatToArgb(whole, expected)
        assertTrue(tiled(img, h, w, 1).contentEquals(expected))
        assertTrue(tiled(img, h, w, 3).contentEquals(expected))
        // no overlap: seams see the tile's zero padding instead of the neighbours
        assertFalse(tiled(img, h, w, 0).contentEquals(expected))
    }

    @Test
    fun smallerThanATileIsEdgeReplicatedAndCancelStops() {
        val img = IntArray(5 * 7) { (0xFF shl 24) or (it * 977) }
        val plan = Tiling.plan(5, 7, 16, 20, 2, 2)
        val dst = IntArray(10 * 14)
        var calls = 0
        val ok = TiledUpscaler(plan).upscale(
            img,
            TileModel { i, o ->
                calls++
                // the canvas: rows/columns past the image repeat the last one
                assertEquals(i[(4 * 20 + 6) * 3], i[(15 * 20 + 19) * 3], 0f)
                for (k in o.indices) o[k] = i[((k / 3 / 40 / 2) * 20 + (k / 3 % 40) / 2) * 3 + k % 3]
            },
            dst
        )
        assertTrue(ok)
        assertEquals(1, calls)
        assertEquals(img[4 * 7 + 6], dst[9 * 14 + 13])
        val big = Tiling.plan(100, 100, 16, 20, 2, 2)
        var progressCalls = 0
        val cancelled = TiledUpscaler(big).upscale(
            IntArray(100 * 100),
            TileModel { _, _ -> },
            IntArray(200 * 200),
            progress = { done, _ -> progressCalls = done },
            isCancelled = { progressCalls >= 3 }
        )
        assertFalse(cancelled)
        assertEquals(3, progressCalls)
        assertNotEquals(0, big.tiles.size)
    }
}
