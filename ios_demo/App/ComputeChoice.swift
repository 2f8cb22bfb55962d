// The four Core ML compute-unit settings the user can pick, and which parity gate each implies (validate/PARITY.md §4).
#if canImport(CoreML)
import CoreML

enum ComputeChoice: String, CaseIterable, Identifiable, Sendable {
    case all, cpuAndNeuralEngine, cpuAndGPU, cpuOnly

    var id: String { rawValue }

    var units: MLComputeUnits {
        switch self {
        case .all: .all
        case .cpuAndNeuralEngine: .cpuAndNeuralEngine
        case .cpuAndGPU: .cpuAndGPU
        case .cpuOnly: .cpuOnly
        }
    }

    /// Float16 arithmetic is what the GPU and the Neural Engine run; only .cpuOnly is held to the fp32 floor.
    var fp16Arithmetic: Bool { self != .cpuOnly }

    /// The device report's `runtime.requested` value.
    var reportName: String { rawValue }

    var title: String {
        switch self {
        case .all: "All"
        case .cpuAndNeuralEngine: "CPU+ANE"
        case .cpuAndGPU: "CPU+GPU"
        case .cpuOnly: "CPU"
        }
    }
}
#endif
