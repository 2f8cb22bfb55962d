import Foundation
import PocketSRCore
import Testing

@Suite struct TilingVectorsTests {
    @Test func everyCaseIsPlannedAsTheVectorsSay() throws {
        let v = try Vectors.json("tiling.json")
        #expect(v.int("version") == 1)
        let cases = v.list("cases")
        #expect(cases.count >= 10)
        for c in cases {
            let name = c["name"] as! String
            let image = c.ints("image")
            let tile = c.ints("tile")
            let plan = try Tiling.plan(
                imageH: image[0], imageW: image[1], tileH: tile[0], tileW: tile[1],
                overlap: c.int("overlap"), scale: c.int("scale"))
            #expect(c.ints("canvas") == [plan.canvasH, plan.canvasW], "\(name)")
            let want = c.list("tiles")
            #expect(want.count == plan.tiles.count, "\(name)")
            for (t, w) in zip(plan.tiles, want) {
                #expect(
                    [t.y0, t.y1, t.x0, t.x1, t.ownY0, t.ownY1, t.ownX0, t.ownX1]
                        == ["y0", "y1", "x0", "x1", "own_y0", "own_y1", "own_x0", "own_x1"].map { w.int($0) }, "\(name)"
                )
                let s = plan.scale
                #expect(w.ints("hr_own") == [t.ownY0 * s, t.ownY1 * s, t.ownX0 * s, t.ownX1 * s], "\(name)")
            }
            for sample in c["owner_samples"] as! [[NSNumber]] {
                let (y, x, idx) = (sample[0].intValue, sample[1].intValue, sample[2].intValue)
                #expect(Tiling.owner(plan, hrY: y, hrX: x) == idx, "\(name) owner of (\(y), \(x))")
            }
        }
    }

    @Test func overlapThatStopsTilesFromAdvancingIsRefused() {
        #expect(throws: (any Error).self) {
            try Tiling.plan(imageH: 100, imageW: 100, tileH: 40, tileW: 40, overlap: 20, scale: 4)
        }
    }

    /// A local "model" on RGBA8 tiles: x2 nearest upscale of a 3x3 box mean with zero padding (radius 1).
    private func boxModel(_ h: Int, _ w: Int) -> ([UInt8]) -> [UInt8] {
        { input in
            var out = [UInt8](repeating: 255, count: h * 2 * w * 2 * 4)
            for y in 0..<(h * 2) {
                for x in 0..<(w * 2) {
                    for c in 0..<3 {
                        var sum: Float = 0
                        for dy in -1...1 {
                            for dx in -1...1 {
                                let yy = y / 2 + dy
                                let xx = x / 2 + dx
                                if yy >= 0, yy < h, xx >= 0, xx < w {
                                    sum += Pixels.u8ToFloat(input[(yy * w + xx) * 4 + c])
                                }
                            }
                        }
                        out[(y * w * 2 + x) * 4 + c] = Pixels.floatToU8(sum / 9)
                    }
                }
            }
            return out
        }
    }

    private func tiled(_ img: [UInt8], _ h: Int, _ w: Int, overlap: Int) async throws -> [UInt8] {
        let plan = try Tiling.plan(imageH: h, imageW: w, tileH: 16, tileW: 20, overlap: overlap, scale: 2)
        var dst = [UInt8](repeating: 0, count: h * 2 * w * 2 * 4)
        let model = boxModel(16, 20)
        let done = try await TiledUpscaler(plan: plan).upscale(source: img, destination: &dst, runTile: { model($0) })
        #expect(done)
        return dst
    }

    @Test func stitchingWithOverlapAtLeastTheRadiusEqualsWholeImageInference() async throws {
        let h = 37
        let w = 53
        var rng = SystemRandomNumberGenerator()
        var img = [UInt8](repeating: 255, count: h * w * 4)
        for i in 0..<(h * w) { for c in 0..<3 { img[i * 4 + c] = UInt8.random(in: 0...255, using: &rng) } }
        let whole = boxModel(h, w)(img)
        let t1 = try await tiled(img, h, w, overlap: 1)
        let t3 = try await tiled(img, h, w, overlap: 3)
        let t0 = try await tiled(img, h, w, overlap: 0)
        #expect(t1 == whole)
        #expect(t3 == whole)
        #expect(t0 != whole)  // no overlap: seams see zero padding instead of neighbours
    }

    @Test func smallerThanATileIsEdgeReplicatedAndCancelStops() async throws {
        var img = [UInt8](repeating: 255, count: 5 * 7 * 4)
        for i in 0..<(5 * 7) {
            img[i * 4] = UInt8(i * 7 % 256)
            img[i * 4 + 1] = UInt8(i)
            img[i * 4 + 2] = 9
        }
        let plan = try Tiling.plan(imageH: 5, imageW: 7, tileH: 16, tileW: 20, overlap: 2, scale: 2)
        var dst = [UInt8](repeating: 0, count: 10 * 14 * 4)
        var calls = 0
        let ok = try await TiledUpscaler(plan: plan).upscale(
            source: img, destination: &dst,
            runTile: { input in
                calls += 1
                #expect(input[(4 * 20 + 6) * 4] == input[(15 * 20 + 19) * 4])  // canvas repeats the last row/column
                var out = [UInt8](repeating: 0, count: 32 * 40 * 4)
                for y in 0..<32 {
                    for x in 0..<40 {
                        for c in 0..<4 { out[(y * 40 + x) * 4 + c] = input[((y / 2) * 20 + x / 2) * 4 + c] }
                    }
                }
                return out
            })
        #expect(ok)
        #expect(calls == 1)
        #expect(
            Array(dst[((9 * 14 + 13) * 4)..<((9 * 14 + 13) * 4 + 4)])
                == Array(img[((4 * 7 + 6) * 4)..<((4 * 7 + 6) * 4 + 4)]))
        // cancel: the task is cancelled after the third tile
        let big = try Tiling.plan(imageH: 100, imageW: 100, tileH: 16, tileW: 20, overlap: 2, scale: 2)
        let task = Task { () -> (Bool, Int) in
            var out = [UInt8](repeating: 0, count: 200 * 200 * 4)
            var done = 0
            let finished = try await TiledUpscaler(plan: big).upscale(
                source: [UInt8](repeating: 0, count: 100 * 100 * 4), destination: &out,
                runTile: { _ in [UInt8](repeating: 0, count: 32 * 40 * 4) },
                progress: { d, _ in
                    done = d
                    if d == 3 { withUnsafeCurrentTask { $0?.cancel() } }
                })
            return (finished, done)
        }
        let (finished, done) = try await task.value
        #expect(!(finished))
        #expect(done == 3)
    }
}
