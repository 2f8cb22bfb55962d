// Stand-in: the AVFoundation capture API the app uses (all classes non-Sendable), plus Dispatch's
// DispatchSerialQueue (iOS 17; swift-corelibs-libdispatch on Linux does not have it).
@_exported import CoreMedia
@_exported import Foundation

public final class DispatchSerialQueue: SerialExecutor, @unchecked Sendable {
    public init(label: String, qos: DispatchQoS = .unspecified) {}
    public func enqueue(_ job: consuming ExecutorJob) {}
    public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
}

public struct AVMediaType: Sendable { public static let video = AVMediaType() }

public class AVCaptureInput {}
public class AVCaptureOutput {}
public final class AVCaptureConnection {}

public final class AVCaptureDevice {
    public enum DeviceType: Sendable { case builtInWideAngleCamera }
    public enum Position: Sendable { case back, front }
    public static func `default`(_ type: DeviceType, for media: AVMediaType?, position: Position) -> AVCaptureDevice? {
        fatalError()
    }
    public static func requestAccess(for media: AVMediaType) async -> Bool { fatalError() }

    public final class RotationCoordinator {
        public init(device: AVCaptureDevice, previewLayer: AnyObject?) {}
        public var videoRotationAngleForHorizonLevelCapture: CGFloat { fatalError() }
    }
}

public final class AVCaptureDeviceInput: AVCaptureInput {
    public init(device: AVCaptureDevice) throws {}
}

public protocol AVCaptureVideoDataOutputSampleBufferDelegate: NSObjectProtocol {
    func captureOutput(
        _ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection)
}

public final class AVCaptureVideoDataOutput: AVCaptureOutput {
    public override init() {}
    public var videoSettings: [String: Any] = [:]
    public var alwaysDiscardsLateVideoFrames = true
    public func setSampleBufferDelegate(
        _ delegate: (any AVCaptureVideoDataOutputSampleBufferDelegate)?, queue: DispatchSerialQueue?
    ) {}
}

public final class AVCaptureSession {
    public struct Preset: Sendable { public static let hd1280x720 = Preset() }
    public init() {}
    public var sessionPreset = Preset.hd1280x720
    public var isRunning: Bool { fatalError() }
    public func beginConfiguration() {}
    public func commitConfiguration() {}
    public func canAddInput(_ input: AVCaptureInput) -> Bool { fatalError() }
    public func addInput(_ input: AVCaptureInput) {}
    public func canAddOutput(_ output: AVCaptureOutput) -> Bool { fatalError() }
    public func addOutput(_ output: AVCaptureOutput) {}
    public func startRunning() {}
    public func stopRunning() {}
}
