// Stand-in: PocketSRCore's public API exactly as /work/notes/swift_core_api.swift gives it (declarations only).
// Where that file names fields without an initializer, the memberwise initializer in field order is assumed
// (DeviceInfo, ComputePlanCounts, NamedFigures, RunRecord are built by the app).
import Foundation

public struct BundleError: Error, CustomStringConvertible { public let description: String }
public struct TensorSpec: Sendable {
    public let name: String
    public let shape: [Int]
    public let layout: String?
    public let dtype: String
    public let scale: Double?
    public let zeroPoint: Int?
    public let values: String?
}
public struct Gate: Sendable {
    public let minParityPsnrDb: Double
    public let minParityPsnrDbFp16: Double
    public let reportOnly: Bool
}
public struct GoldenImage: Sendable {
    public let name: String
    public let inputFile: String
    public let goldenFile: String
    public let goldenDtype: String
    public let goldenShape: [Int]
    public let window: [Int]
}
public struct GoldenSet: Sendable {
    public let key: String
    public let model: String
    public let inputH: Int
    public let inputW: Int
    public let scale: Int
    public let images: [GoldenImage]
}
public enum ModelIO: Sendable { case image, tensor }
public struct BundleArtifact: Sendable {
    public let file: String, sha256: String, model: String, title: String, scale: Int
    public let target: String, precision: String, pickedAs: [String]
    public let input: TensorSpec, output: TensorSpec, io: ModelIO
    public let tileH: Int, tileW: Int, radius: Int?, defaultOverlap: Int, exactTiling: Bool
    public let gate: Gate, goldenSet: String
    public var inputH: Int { fatalError() }
    public var inputW: Int { fatalError() }
    public var outputH: Int { fatalError() }
    public var outputW: Int { fatalError() }
    public var label: String { fatalError() }
    public func gate(fp16Arithmetic: Bool) -> Double { fatalError() }
}
public struct PocketBundle: Sendable {
    public let schemaVersion: Int, created: String, pocketsr: String
    public let artifacts: [BundleArtifact], goldenSets: [String: GoldenSet]
    public var coreML: [BundleArtifact] { fatalError() }
    public func goldenSet(of a: BundleArtifact) -> GoldenSet { fatalError() }
    public static let schemaVersion = 1
    public static func parse(_ data: Data) throws -> PocketBundle { fatalError() }
}

public struct Tile: Equatable, Sendable {
    public let y0: Int, y1: Int, x0: Int, x1: Int, ownY0: Int, ownY1: Int, ownX0: Int, ownX1: Int
}
public struct TilePlan: Sendable {
    public let imageH: Int, imageW: Int, tileH: Int, tileW: Int, overlap: Int, scale: Int, canvasH: Int, canvasW: Int
    public let tiles: [Tile]
}
public struct TilingError: Error, CustomStringConvertible { public let description: String }
public enum Tiling {
    public static func plan(
        imageH: Int, imageW: Int, tileH: Int, tileW: Int, overlap: Int, scale: Int
    ) throws
        -> TilePlan
    { fatalError() }
    public static func owner(_ plan: TilePlan, hrY: Int, hrX: Int) -> Int { fatalError() }
}
public struct TiledUpscaler: Sendable {
    public init(plan: TilePlan) {}
    public func upscale(
        source: [UInt8], destination: inout [UInt8],
        runTile: ([UInt8]) async throws -> [UInt8],
        progress: (Int, Int) -> Void
    ) async throws -> Bool { fatalError() }
}

public enum Pixels {
    public static func u8ToFloat(_ v: UInt8) -> Float { fatalError() }
    public static func floatToU8(_ x: Float) -> UInt8 { fatalError() }
    public static func yuv420ToRGB(
        height: Int, width: Int, data: [UInt8], nv21: Bool, fullRange: Bool
    ) throws
        -> [UInt8]
    { fatalError() }
}

public struct CropRect: Equatable, Sendable { public let x: Double, y: Double, width: Double, height: Double }
public enum FrameGeometry {
    public static func centreCrop(
        frameWidth: Int, frameHeight: Int, rotationDegrees: Int, inputH: Int, inputW: Int
    )
        throws -> CropRect
    { fatalError() }
}

public struct ParityFigures: Sendable, Equatable {
    public let psnrDb: Double?
    public let identical: Bool
    public let nan: Bool
    public let maxAbs: Double?
    public let changed8bit: Double
}
public enum GoldenParity {
    public static func u8(_ v: Double) -> Int { fatalError() }
    public static func measure(output: [Double], golden: [Double], eightBit: Bool) throws -> ParityFigures {
        fatalError()
    }
    public static func passes(_ figures: [ParityFigures], floorDb: Double) -> Bool { fatalError() }
    public static func windowOf8Bit(
        bytes: [UInt8], bytesPerRow: Int, bytesPerPixel: Int, rgbOffsets: (Int, Int, Int), window: [Int]
    ) throws -> [Double] { fatalError() }
    public static func windowOfNCHW(values: [Float], height: Int, width: Int, window: [Int]) throws -> [Double] {
        fatalError()
    }
}
public struct NpyArray: Sendable {
    public let shape: [Int]
    public let values: [Double]
}
public enum Npy { public static func read(_ data: Data) throws -> NpyArray { fatalError() } }

public struct FpsMeter: Sendable {
    public init(smoothing: Double = 0.9) {}
    public mutating func tick(nanoseconds: UInt64) -> Double { fatalError() }
    public var fps: Double { fatalError() }
}
public struct LatencyMs: Sendable, Equatable {
    public let runs: Int, warmup: Int
    public let median: Double, min: Double, max: Double, p90: Double
}
public enum LatencyStats {
    public static func summarize(_ ms: [Double], warmup: Int) throws -> LatencyMs { fatalError() }
}
public struct ThermalAdvice: Sendable, Equatable {
    public let frameStride: Int
    public let message: String?
}
public enum ThermalPolicy { public static func advice(for state: String) -> ThermalAdvice { fatalError() } }

public struct DeviceInfo: Sendable {
    public let maker: String, model: String, osVersion: String, soc: String?
    public init(maker: String, model: String, osVersion: String, soc: String?) { fatalError() }
}
public struct ComputePlanCounts: Sendable {
    public let neuralEngine: Int, gpu: Int, cpu: Int
    public init(neuralEngine: Int, gpu: Int, cpu: Int) { fatalError() }
}
public struct NamedFigures: Sendable {
    public let name: String
    public let figures: ParityFigures
    public init(name: String, figures: ParityFigures) { fatalError() }
}
public struct RunRecord: Sendable {
    public let artifactFile: String, sha256: String, runtimeVersion: String
    public let requested: String, used: String
    public let fp16Arithmetic: Bool
    public let computePlan: ComputePlanCounts?
    public let firstLoadMs: Double
    public let latency: LatencyMs
    public let peakMemoryMb: Double?
    public let thermalBefore: String, thermalAfter: String
    public let goldens: [NamedFigures]
    public let gateDb: Double
    public let passed: Bool
    public let fallback: String?
    public let errors: [String]
    public init(
        artifactFile: String, sha256: String, runtimeVersion: String, requested: String, used: String,
        fp16Arithmetic: Bool, computePlan: ComputePlanCounts?, firstLoadMs: Double, latency: LatencyMs,
        peakMemoryMb: Double?, thermalBefore: String, thermalAfter: String, goldens: [NamedFigures], gateDb: Double,
        passed: Bool, fallback: String?, errors: [String]
    ) { fatalError() }
}
public enum DeviceReport {
    public static func json(
        appName: String, appVersion: String, device: DeviceInfo, bundleCreated: String?, bundlePocketsr: String?,
        runs: [RunRecord], createdUTC: String
    ) throws -> Data { fatalError() }
}
