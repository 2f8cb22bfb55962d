// Stand-ins for the two app files that need frameworks not stubbed here (PixelIO: CoreGraphics/ImageIO;
// DeviceFacts: Darwin). They compile out on Linux (`#if canImport`), so the type check of the other app files
// sees these declarations instead; the signatures must match the real files (a mismatch fails the check there).
import CoreImage
import CoreVideo
import Foundation
import PocketSRCore

enum PixelIO {
    static func makePool(width: Int, height: Int, minimumCount: Int = 3) throws -> CVPixelBufferPool { fatalError() }
    static func buffer(from pool: CVPixelBufferPool) -> CVPixelBuffer? { fatalError() }
    static func makeBGRA(fromRGBA rgba: [UInt8], width: Int, height: Int) throws -> CVPixelBuffer { fatalError() }
    static func readBytes(_ buffer: CVPixelBuffer) throws -> ImageBytes { fatalError() }
    static func packedRGBA(_ image: ImageBytes) -> [UInt8] { fatalError() }
    static func decodePNG(_ data: Data) throws -> ([UInt8], Int, Int) { fatalError() }
    static func rgba(of image: CGImage, exact: Bool) throws -> ([UInt8], Int, Int) { fatalError() }
    static func cgImage(rgba: [UInt8], width: Int, height: Int) -> CGImage? { fatalError() }
}

enum DeviceFacts {
    static func thermalName() -> String { fatalError() }
    static func modelIdentifier() -> String { fatalError() }
    static func osVersion() -> String { fatalError() }
    static func deviceInfo() -> DeviceInfo { fatalError() }
    static var appVersion: String { fatalError() }
    static func footprintMb() -> Double? { fatalError() }
}
