// Stand-in: Core Image plus the Core Graphics names the app uses with it. CIContext and CIImage non-Sendable.
@_exported import CoreVideo
@_exported import Foundation

public final class CGImage {
    public var width: Int { fatalError() }
    public var height: Int { fatalError() }
}
public final class CGColorSpace {
    public static let sRGB = "kCGColorSpaceSRGB"
    public init?(name: String) {}
}
public struct CGAffineTransform: Sendable {
    public init(translationX: CGFloat, y: CGFloat) {}
    public init(scaleX: CGFloat, y: CGFloat) {}
}
public enum CGImagePropertyOrientation: UInt32, Sendable {
    case up = 1
    case upMirrored, down, downMirrored, leftMirrored, right, rightMirrored, left
}
public struct CIContextOption: Hashable, Sendable {
    public static let cacheIntermediates = CIContextOption()
}
public final class CIContext {
    public init(options: [CIContextOption: Any]? = nil) {}
    public func render(_ image: CIImage, to buffer: CVPixelBuffer, bounds: CGRect, colorSpace: CGColorSpace?) {}
    public func createCGImage(_ image: CIImage, from rect: CGRect) -> CGImage? { fatalError() }
}
public final class CIImage {
    public init(cvPixelBuffer: CVPixelBuffer) {}
    public var extent: CGRect { fatalError() }
    public func oriented(_ orientation: CGImagePropertyOrientation) -> CIImage { self }
    public func transformed(by transform: CGAffineTransform) -> CIImage { self }
    public func cropped(to rect: CGRect) -> CIImage { self }
    public func samplingLinear() -> CIImage { self }
}
