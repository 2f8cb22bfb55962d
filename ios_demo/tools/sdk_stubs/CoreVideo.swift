// swift-format-ignore-file
// (the C names of the SDK are kept as Apple spells them)
// Stand-in: the CoreVideo names the app uses. CVBuffer is modelled non-Sendable.
@_exported import Foundation

public final class CVBuffer {}
public typealias CVPixelBuffer = CVBuffer
public typealias CVImageBuffer = CVBuffer
public final class CVPixelBufferPool {}
public typealias OSType = UInt32
public typealias CVReturn = Int32
public let kCVReturnSuccess: CVReturn = 0
public let kCVPixelFormatType_32BGRA: OSType = 0x4247_5241
public let kCVPixelFormatType_32RGBA: OSType = 0x5247_4241
public let kCVPixelFormatType_32ARGB: OSType = 0x20
public let kCVPixelFormatType_32ABGR: OSType = 0x4142_4752
public let kCVPixelBufferPixelFormatTypeKey = "PixelFormatType"
public let kCVPixelBufferWidthKey = "Width"
public let kCVPixelBufferHeightKey = "Height"
public let kCVPixelBufferIOSurfacePropertiesKey = "IOSurfaceProperties"
public let kCVPixelBufferMetalCompatibilityKey = "MetalCompatibility"
public let kCVPixelBufferPoolMinimumBufferCountKey = "MinimumBufferCount"
public func CVPixelBufferGetWidth(_ buffer: CVPixelBuffer) -> Int { fatalError() }
public func CVPixelBufferGetHeight(_ buffer: CVPixelBuffer) -> Int { fatalError() }
public func CVPixelBufferGetBytesPerRow(_ buffer: CVPixelBuffer) -> Int { fatalError() }
public func CVPixelBufferGetPixelFormatType(_ buffer: CVPixelBuffer) -> OSType { fatalError() }
