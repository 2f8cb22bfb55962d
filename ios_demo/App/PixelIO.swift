// Pixel plumbing: IOSurface-backed BGRA pixel buffers and pools, exact PNG decoding for the golden set,
// and RGBA <-> BGRA copies. No colour management anywhere on the parity path: bytes are copied as they are.
#if canImport(CoreVideo) && canImport(CoreGraphics) && canImport(ImageIO)
import CoreGraphics
import CoreVideo
import Foundation
import ImageIO

enum PixelIO {
    static func bgraAttributes(width: Int, height: Int) -> [String: Any] {
        [
            kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_32BGRA,
            kCVPixelBufferWidthKey as String: width,
            kCVPixelBufferHeightKey as String: height,
            kCVPixelBufferIOSurfacePropertiesKey as String: [String: Any](),
            kCVPixelBufferMetalCompatibilityKey as String: true,
        ]
    }

    static func makePool(width: Int, height: Int, minimumCount: Int = 3) throws -> CVPixelBufferPool {
        var pool: CVPixelBufferPool?
        let poolAttributes = [kCVPixelBufferPoolMinimumBufferCountKey as String: minimumCount]
        let status = CVPixelBufferPoolCreate(
            kCFAllocatorDefault, poolAttributes as CFDictionary,
            bgraAttributes(width: width, height: height) as CFDictionary, &pool)
        guard status == kCVReturnSuccess, let pool else {
            throw ModelError(description: "CVPixelBufferPoolCreate \(width)x\(height) failed (\(status))")
        }
        return pool
    }

    static func buffer(from pool: CVPixelBufferPool) -> CVPixelBuffer? {
        var buffer: CVPixelBuffer?
        CVPixelBufferPoolCreatePixelBuffer(kCFAllocatorDefault, pool, &buffer)
        return buffer
    }

    /// A new BGRA buffer holding `rgba` (tightly packed RGBA8, alpha ignored).
    static func makeBGRA(fromRGBA rgba: [UInt8], width: Int, height: Int) throws -> CVPixelBuffer {
        guard rgba.count == width * height * 4 else {
            throw ModelError(description: "RGBA data has \(rgba.count) bytes, expected \(width * height * 4)")
        }
        var made: CVPixelBuffer?
        let status = CVPixelBufferCreate(
            kCFAllocatorDefault, width, height, kCVPixelFormatType_32BGRA,
            bgraAttributes(width: width, height: height) as CFDictionary, &made)
        guard status == kCVReturnSuccess, let buffer = made else {
            throw ModelError(description: "CVPixelBufferCreate \(width)x\(height) failed (\(status))")
        }
        CVPixelBufferLockBaseAddress(buffer, [])
        defer { CVPixelBufferUnlockBaseAddress(buffer, []) }
        guard let base = CVPixelBufferGetBaseAddress(buffer) else {
            throw ModelError(description: "pixel buffer has no base address")
        }
        let rowBytes = CVPixelBufferGetBytesPerRow(buffer)
        let out = base.assumingMemoryBound(to: UInt8.self)
        for y in 0..<height {
            for x in 0..<width {
                let s = (y * width + x) * 4
                let d = y * rowBytes + x * 4
                out[d] = rgba[s + 2]
                out[d + 1] = rgba[s + 1]
                out[d + 2] = rgba[s]
                out[d + 3] = 255
            }
        }
        return buffer
    }

    /// Copies an 8-bit 4-channel output buffer as it is (the padded rows included).
    static func readBytes(_ buffer: CVPixelBuffer) throws -> ImageBytes {
        let offsets: (Int, Int, Int)
        switch CVPixelBufferGetPixelFormatType(buffer) {
        case kCVPixelFormatType_32BGRA: offsets = (2, 1, 0)
        case kCVPixelFormatType_32RGBA: offsets = (0, 1, 2)
        case kCVPixelFormatType_32ARGB: offsets = (1, 2, 3)
        case kCVPixelFormatType_32ABGR: offsets = (3, 2, 1)
        case let other:
            throw ModelError(description: "unexpected output pixel format \(fourCC(other))")
        }
        CVPixelBufferLockBaseAddress(buffer, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(buffer, .readOnly) }
        guard let base = CVPixelBufferGetBaseAddress(buffer) else {
            throw ModelError(description: "output buffer has no base address")
        }
        let height = CVPixelBufferGetHeight(buffer)
        let rowBytes = CVPixelBufferGetBytesPerRow(buffer)
        let bytes = [UInt8](UnsafeRawBufferPointer(start: base, count: rowBytes * height))
        return ImageBytes(
            bytes: bytes, width: CVPixelBufferGetWidth(buffer), height: height, bytesPerRow: rowBytes,
            rgbOffsets: offsets)
    }

    /// Tightly packed RGBA8 (alpha 255) from any 4-byte layout.
    static func packedRGBA(_ image: ImageBytes) -> [UInt8] {
        var out = [UInt8](repeating: 255, count: image.width * image.height * 4)
        let (r, g, b) = image.rgbOffsets
        for y in 0..<image.height {
            for x in 0..<image.width {
                let s = y * image.bytesPerRow + x * 4
                let d = (y * image.width + x) * 4
                out[d] = image.bytes[s + r]
                out[d + 1] = image.bytes[s + g]
                out[d + 2] = image.bytes[s + b]
            }
        }
        return out
    }

    /// Decodes an 8-bit PNG to tightly packed RGBA8 without colour conversion (the golden inputs must reach the
    /// model byte for byte). Returns (rgba, width, height).
    static func decodePNG(_ data: Data) throws -> ([UInt8], Int, Int) {
        guard let source = CGImageSourceCreateWithData(data as CFData, nil),
            let image = CGImageSourceCreateImageAtIndex(source, 0, nil)
        else { throw ModelError(description: "not a decodable image") }
        return try rgba(of: image, exact: true)
    }

    /// RGBA8 of a CGImage. `exact`: read the decoded bytes directly (8-bit RGB/RGBA/RGBX/BGRA layouts only);
    /// otherwise draw into an sRGB RGBA8 context (photo mode; any layout and colour space).
    static func rgba(of image: CGImage, exact: Bool) throws -> ([UInt8], Int, Int) {
        let width = image.width
        let height = image.height
        if exact {
            guard image.bitsPerComponent == 8, let data = image.dataProvider?.data,
                let base = CFDataGetBytePtr(data)
            else { throw ModelError(description: "golden PNG is not 8 bits per channel") }
            let pixelBytes = image.bitsPerPixel / 8
            let alpha = image.alphaInfo
            guard pixelBytes == 3 || pixelBytes == 4 else {
                throw ModelError(description: "golden PNG decoded to an unexpected layout (\(image.bitsPerPixel) bpp)")
            }
            // Byte offsets of R, G, B in memory. 32-bit little-endian words store their bytes reversed.
            let first = alpha == .first || alpha == .premultipliedFirst || alpha == .noneSkipFirst
            let offsets: (Int, Int, Int)
            if pixelBytes == 3 {
                offsets = (0, 1, 2)
            } else if image.byteOrderInfo == .order32Little {
                offsets = first ? (2, 1, 0) : (3, 2, 1)
            } else {
                offsets = first ? (1, 2, 3) : (0, 1, 2)
            }
            var out = [UInt8](repeating: 255, count: width * height * 4)
            for y in 0..<height {
                for x in 0..<width {
                    let s = y * image.bytesPerRow + x * pixelBytes
                    let d = (y * width + x) * 4
                    out[d] = base[s + offsets.0]
                    out[d + 1] = base[s + offsets.1]
                    out[d + 2] = base[s + offsets.2]
                }
            }
            return (out, width, height)
        }
        var out = [UInt8](repeating: 255, count: width * height * 4)
        // Photo mode only: Core Graphics converts whatever the photo's colour space is (Display P3, extended) to sRGB.
        guard let space = CGColorSpace(name: CGColorSpace.sRGB) else {
            throw ModelError(description: "no sRGB colour space")
        }
        let drawn = out.withUnsafeMutableBytes { raw -> Bool in
            guard
                let context = CGContext(
                    data: raw.baseAddress, width: width, height: height, bitsPerComponent: 8, bytesPerRow: width * 4,
                    space: space, bitmapInfo: CGImageAlphaInfo.premultipliedLast.rawValue)
            else { return false }
            context.draw(image, in: CGRect(x: 0, y: 0, width: width, height: height))
            return true
        }
        guard drawn else { throw ModelError(description: "cannot draw the image into RGBA8") }
        for i in stride(from: 3, to: out.count, by: 4) { out[i] = 255 }
        return (out, width, height)
    }

    /// A CGImage over tightly packed RGBA8 (alpha 255), sRGB.
    static func cgImage(rgba: [UInt8], width: Int, height: Int) -> CGImage? {
        guard let provider = CGDataProvider(data: Data(rgba) as CFData) else { return nil }
        return CGImage(
            width: width, height: height, bitsPerComponent: 8, bitsPerPixel: 32, bytesPerRow: width * 4,
            space: CGColorSpace(name: CGColorSpace.sRGB)!,
            bitmapInfo: CGBitmapInfo(rawValue: CGImageAlphaInfo.noneSkipLast.rawValue),
            provider: provider, decode: nil, shouldInterpolate: false, intent: .defaultIntent)
    }

    static func fourCC(_ code: OSType) -> String {
        let bytes = [24, 16, 8, 0].map { UInt8((code >> $0) & 0xFF) }
        return String(bytes: bytes, encoding: .ascii) ?? "\(code)"
    }
}
#endif
