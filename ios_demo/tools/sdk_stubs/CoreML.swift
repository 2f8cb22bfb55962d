// Stand-in: the Core ML API the app uses. MLModel, MLMultiArray, MLFeatureValue, MLPredictionOptions,
// MLDictionaryFeatureProvider, MLModelConfiguration and MLComputePlan are non-Sendable; the async prediction
// and load are nonisolated async methods, as in Apple's Swift overlay (iOS 16/17).
@_exported import CoreVideo
@_exported import Foundation

public enum MLComputeUnits: Int, Sendable { case cpuOnly, cpuAndGPU, all, cpuAndNeuralEngine }

public final class MLModelConfiguration {
    public init() {}
    public var computeUnits: MLComputeUnits = .all
}

public final class MLMultiArray {
    public init(shape: [NSNumber], dataType: MLMultiArrayDataType) throws {}
    public var shape: [NSNumber] { fatalError() }
    public var strides: [NSNumber] { fatalError() }
    public var dataType: MLMultiArrayDataType { fatalError() }
    public subscript(key: [NSNumber]) -> NSNumber { fatalError() }
    public func withUnsafeMutableBufferPointer<S, R>(
        ofType type: S.Type, _ body: (UnsafeMutableBufferPointer<S>, [Int]) throws -> R
    ) rethrows -> R { fatalError() }
    public func withUnsafeBufferPointer<S, R>(
        ofType type: S.Type, _ body: (UnsafeBufferPointer<S>) throws -> R
    )
        rethrows -> R
    { fatalError() }
}
public enum MLMultiArrayDataType: Sendable { case double, float64, float32, float16, float, int32 }

public final class MLFeatureValue {
    public init(pixelBuffer: CVPixelBuffer) {}
    public init(multiArray: MLMultiArray) {}
    public var imageBufferValue: CVPixelBuffer? { fatalError() }
    public var multiArrayValue: MLMultiArray? { fatalError() }
}

public protocol MLFeatureProvider {
    func featureValue(for featureName: String) -> MLFeatureValue?
}

public final class MLDictionaryFeatureProvider: MLFeatureProvider {
    public init(dictionary: [String: Any]) throws {}
    public func featureValue(for featureName: String) -> MLFeatureValue? { fatalError() }
}

public final class MLPredictionOptions {
    public init() {}
    public var outputBackings: [String: Any] = [:]
}

public final class MLModel {
    public class func load(
        contentsOf url: URL, configuration: MLModelConfiguration = MLModelConfiguration()
    )
        async throws -> MLModel
    { fatalError() }
    public func prediction(
        from input: any MLFeatureProvider, options: MLPredictionOptions = MLPredictionOptions()
    )
        async throws -> any MLFeatureProvider
    { fatalError() }
}

public final class MLCPUComputeDevice: Sendable {}
public final class MLGPUComputeDevice: Sendable {}
public final class MLNeuralEngineComputeDevice: Sendable {}
public enum MLComputeDevice: Sendable {
    case cpu(MLCPUComputeDevice)
    case gpu(MLGPUComputeDevice)
    case neuralEngine(MLNeuralEngineComputeDevice)
}

public enum MLModelStructure: Sendable {
    case unsupported
    case neuralNetwork
    case program(Program)
    case pipeline

    public struct Program: Sendable {
        public let functions: [String: Function]

        public struct Function: Sendable { public let block: Block }
        public struct Block: Sendable { public let operations: [Operation] }
        public struct NamedValueType: Sendable { public let name: String }
        public struct Operation: Sendable {
            public let operatorName: String
            public let outputs: [NamedValueType]
            public let blocks: [Block]
        }
    }
}

public final class MLComputePlan {
    public struct DeviceUsage: Sendable {
        public let preferred: MLComputeDevice
        public let supported: [MLComputeDevice]
    }
    public struct Cost: Sendable { public let weight: Double }

    public class func load(
        contentsOf url: URL, configuration: MLModelConfiguration = MLModelConfiguration()
    )
        async throws -> MLComputePlan
    { fatalError() }
    public var modelStructure: MLModelStructure { fatalError() }
    public func deviceUsage(for operation: MLModelStructure.Program.Operation) -> DeviceUsage? { fatalError() }
    public func estimatedCost(of operation: MLModelStructure.Program.Operation) -> Cost? { fatalError() }
}
