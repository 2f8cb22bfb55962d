// swift-format-ignore-file
// (the C names of the SDK are kept as Apple spells them)
// Stand-in: CoreMedia. CMSampleBuffer non-Sendable.
@_exported import CoreVideo

public final class CMSampleBuffer {}
public func CMSampleBufferGetImageBuffer(_ buffer: CMSampleBuffer) -> CVImageBuffer? { fatalError() }
public struct CMTime: Sendable {
    public init(value: Int64, timescale: Int32) {}
}
