import Foundation

/// Pixel rules of validate/TILING.md#pixels (version 1).
public enum Pixels {
    /// 8-bit level -> model input value `v / 255` in Float.
    @inlinable public static func u8ToFloat(_ v: UInt8) -> Float { Float(v) / 255 }

    /// Model output value -> 8-bit level: `round_half_to_even(clamp(x, 0, 1) * 255)`, product in
    /// Float; NaN -> 0.
    @inlinable public static func floatToU8(_ x: Float) -> UInt8 {
        if x.isNaN { return 0 }
        return UInt8((min(max(x, 0), 1) * 255).rounded(.toNearestOrEven))
    }

    /// YUV 4:2:0 -> 8-bit RGB by BT.601: `data` holds `height * width` Y bytes then the chroma
    /// (NV21: V, U interleaved per chroma sample; I420: the U plane then the V plane) with
    /// `ceil(H/2) x ceil(W/2)` samples; `fullRange` false: Y 16...235, chroma 16...240.
    /// Returns `height * width * 3` bytes, row-major RGB; computed in Double, rounded half to even.
    /// - Throws: ``TilingError`` when `data` is too short.
    public static func yuv420ToRGB(
        height: Int, width: Int, data: [UInt8], nv21: Bool, fullRange: Bool
    ) throws -> [UInt8] {
        let ch = (height + 1) / 2
        let cw = (width + 1) / 2
        let ySize = height * width
        guard height >= 1, width >= 1, data.count >= ySize + 2 * ch * cw else {
            throw TilingError(
                description: "YUV data has \(data.count) bytes, needs \(ySize + 2 * ch * cw) for \(height)x\(width)")
        }
        var out = [UInt8](repeating: 0, count: ySize * 3)
        func level(_ v: Double) -> UInt8 { UInt8(min(max(v.rounded(.toNearestOrEven), 0), 255)) }
        for y in 0..<height {
            for x in 0..<width {
                let c = (y / 2) * cw + x / 2
                let u: Double
                let v: Double
                if nv21 {
                    v = Double(data[ySize + 2 * c])
                    u = Double(data[ySize + 2 * c + 1])
                } else {
                    u = Double(data[ySize + c])
                    v = Double(data[ySize + ch * cw + c])
                }
                let yy = Double(data[y * width + x])
                let l = fullRange ? yy : (yy - 16) * 255 / 219
                let cb = fullRange ? u - 128 : (u - 128) * 255 / 224
                let cr = fullRange ? v - 128 : (v - 128) * 255 / 224
                let o = (y * width + x) * 3
                out[o] = level(l + 1.402 * cr)
                out[o + 1] = level(l - 0.344136 * cb - 0.714136 * cr)
                out[o + 2] = level(l + 1.772 * cb)
            }
        }
        return out
    }
}

/// A crop rectangle in upright-frame pixels.
public struct CropRect: Equatable, Sendable {
    public let x: Double, y: Double, width: Double, height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// Live mode's geometry: which part of a camera frame becomes the model input. The pixels are
/// moved by the platform (Core Image / VTPixelTransferSession into a pooled buffer); this is
/// the rule, the same as the Android core's `FramePreprocessor`.
public enum FrameGeometry {
    /// The centre crop, with the input's aspect ratio, of the frame turned upright by
    /// `rotationDegrees` (clockwise; 90 and 270 swap width and height).
    /// - Throws: ``TilingError`` for sizes < 1 or a rotation other than 0, 90, 180, 270.
    public static func centreCrop(
        frameWidth: Int, frameHeight: Int, rotationDegrees: Int,
        inputH: Int, inputW: Int
    ) throws -> CropRect {
        guard frameWidth >= 1, frameHeight >= 1, inputH >= 1, inputW >= 1 else {
            throw TilingError(description: "bad sizes: frame \(frameWidth)x\(frameHeight), input \(inputW)x\(inputH)")
        }
        guard [0, 90, 180, 270].contains(rotationDegrees) else {
            throw TilingError(description: "rotation \(rotationDegrees) is not 0, 90, 180 or 270")
        }
        let swap = rotationDegrees == 90 || rotationDegrees == 270
        let uw = Double(swap ? frameHeight : frameWidth)
        let uh = Double(swap ? frameWidth : frameHeight)
        if uw * Double(inputH) > uh * Double(inputW) {
            let w = uh * Double(inputW) / Double(inputH)
            return CropRect(x: (uw - w) / 2, y: 0, width: w, height: uh)
        }
        let h = uw * Double(inputH) / Double(inputW)
        return CropRect(x: 0, y: (uh - h) / 2, width: uw, height: h)
    }
}
