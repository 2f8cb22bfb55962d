import Foundation

/// One tile of a ``TilePlan`` (validate/TILING.md, version 1), LR pixels, ends exclusive.
///
/// `y0..<y1 x x0..<x1` is the tile's input rectangle on the canvas (past the image only on an
/// axis where the image is smaller than the tile: edge-replicated there); `own*` is the
/// rectangle of the image whose output this tile writes.
public struct Tile: Equatable, Sendable {
    public let y0: Int, y1: Int, x0: Int, x1: Int
    public let ownY0: Int, ownY1: Int, ownX0: Int, ownX1: Int
}

/// The tiles covering an `imageH x imageW` LR image for an artifact of input `tileH x tileW`.
public struct TilePlan: Equatable, Sendable {
    public let imageH: Int, imageW: Int, tileH: Int, tileW: Int, overlap: Int, scale: Int
    public let canvasH: Int, canvasW: Int
    public let tiles: [Tile]
}

/// A tiling request that cannot be met; one line.
public struct TilingError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Tile placement and ownership exactly as validate/TILING.md specifies (Python: runtime/tiling.py,
/// Kotlin: android_demo core `Tiling`).
public enum Tiling {
    /// Placement along one axis: `(start, end, ownStart, ownEnd)` per tile.
    public static func axis(_ n: Int, tile: Int, overlap: Int) throws -> [(Int, Int, Int, Int)] {
        guard n >= 1, tile >= 1, overlap >= 0 else {
            throw TilingError(description: "bad tiling: length \(n), tile \(tile), overlap \(overlap)")
        }
        if n <= tile { return [(0, tile, 0, n)] }
        let step = tile - 2 * overlap
        guard step > 0 else {
            throw TilingError(description: "overlap \(overlap) too large for tile \(tile) (needs tile > 2 * overlap)")
        }
        var starts = Array(stride(from: 0, to: n - tile, by: step))
        if starts.last != n - tile { starts.append(n - tile) }
        return starts.enumerated().map { i, p in
            let own0 = i == 0 ? 0 : (starts[i - 1] + tile + p) / 2
            let own1 = i == starts.count - 1 ? n : (p + tile + starts[i + 1]) / 2
            return (p, p + tile, own0, own1)
        }
    }

    /// The row-major tiling of an `imageH x imageW` image for `tileH x tileW` tiles with
    /// `overlap` context pixels on inner sides and output `scale`.
    /// - Throws: ``TilingError`` for sizes < 1, a negative overlap, or `tile <= 2 * overlap` on
    ///   an axis that needs more than one tile.
    public static func plan(
        imageH: Int, imageW: Int, tileH: Int, tileW: Int, overlap: Int, scale: Int
    ) throws -> TilePlan {
        guard scale >= 1 else { throw TilingError(description: "bad scale \(scale)") }
        let ys = try axis(imageH, tile: tileH, overlap: overlap)
        let xs = try axis(imageW, tile: tileW, overlap: overlap)
        var tiles: [Tile] = []
        for y in ys {
            for x in xs {
                tiles.append(Tile(y0: y.0, y1: y.1, x0: x.0, x1: x.1, ownY0: y.2, ownY1: y.3, ownX0: x.2, ownX1: x.3))
            }
        }
        return TilePlan(
            imageH: imageH, imageW: imageW, tileH: tileH, tileW: tileW, overlap: overlap, scale: scale,
            canvasH: max(imageH, tileH), canvasW: max(imageW, tileW), tiles: tiles)
    }

    /// Index of the tile whose output holds HR pixel (`hrY`, `hrX`); -1 outside the image.
    public static func owner(_ plan: TilePlan, hrY: Int, hrX: Int) -> Int {
        let y = hrY / plan.scale
        let x = hrX / plan.scale
        return plan.tiles.firstIndex { y >= $0.ownY0 && y < $0.ownY1 && x >= $0.ownX0 && x < $0.ownX1 } ?? -1
    }
}

/// Photo mode: upscales an 8-bit RGBA image of any size with a fixed-input-size model, tile by
/// tile. Images are RGBA8, 4 bytes per pixel, row-major, tightly packed (a `CGImage` drawn as
/// premultipliedLast with alpha 255). Memory: one tile's input and output plus the destination.
public struct TiledUpscaler: Sendable {
    public let plan: TilePlan

    public init(plan: TilePlan) { self.plan = plan }

    /// Runs every tile and copies the pixels it owns into `destination`
    /// (`(imageH * s) * (imageW * s) * 4` bytes, alpha 255).
    ///
    /// - Parameters:
    ///   - source: `imageH * imageW * 4` bytes.
    ///   - runTile: the model on one tile: RGBA8 `tileH * tileW * 4` bytes in (the canvas,
    ///     edge-replicated), RGBA8 `(tileH * s) * (tileW * s) * 4` bytes out.
    ///   - progress: (tiles done, total) after each tile.
    /// - Returns: false when the task was cancelled (destination partly written).
    /// - Throws: ``TilingError`` for arrays of the wrong size; whatever `runTile` throws.
    public func upscale(
        source: [UInt8], destination: inout [UInt8],
        runTile: ([UInt8]) async throws -> [UInt8],
        progress: (Int, Int) -> Void = { _, _ in }
    ) async throws -> Bool {
        let h = plan.imageH
        let w = plan.imageW
        let s = plan.scale
        guard source.count == h * w * 4 else {
            throw TilingError(description: "source has \(source.count) bytes, the plan \(h)x\(w) RGBA")
        }
        guard destination.count == h * s * w * s * 4 else {
            throw TilingError(description: "destination has \(destination.count) bytes, needs \(h * s)x\(w * s) RGBA")
        }
        var input = [UInt8](repeating: 255, count: plan.tileH * plan.tileW * 4)
        let outW = plan.tileW * s
        for (index, t) in plan.tiles.enumerated() {
            if Task.isCancelled { return false }
            var i = 0
            for y in t.y0..<t.y1 {
                let row = min(y, h - 1) * w
                for x in t.x0..<t.x1 {
                    let p = (row + min(x, w - 1)) * 4
                    input[i] = source[p]
                    input[i + 1] = source[p + 1]
                    input[i + 2] = source[p + 2]
                    input[i + 3] = 255
                    i += 4
                }
            }
            let output = try await runTile(input)
            guard output.count == plan.tileH * s * outW * 4 else {
                throw TilingError(
                    description: "tile output has \(output.count) bytes, needs \(plan.tileH * s)x\(outW) RGBA")
            }
            for hy in (t.ownY0 * s)..<(t.ownY1 * s) {
                let o = ((hy - t.y0 * s) * outW + (t.ownX0 - t.x0) * s) * 4
                let d = (hy * w * s + t.ownX0 * s) * 4
                let n = (t.ownX1 - t.ownX0) * s * 4
                for k in 0..<n { destination[d + k] = output[o + k] }
                for k in stride(from: 3, to: n, by: 4) { destination[d + k] = 255 }
            }
            progress(index + 1, plan.tiles.count)
        }
        return true
    }
}
