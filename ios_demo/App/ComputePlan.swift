// Where the ops run: MLComputePlan (iOS 17.4+) gives each ML Program op's preferred and supported devices, so a
// user sees e.g. LKDN-S's 13x13 depthwise convs leave the Neural Engine; the counts go into the device report.
#if canImport(CoreML)
import CoreML
import Foundation
import PocketSRCore

struct OpRow: Sendable, Identifiable {
    let id: Int
    let op: String
    let output: String
    let preferred: String
    let supported: [String]
    let cost: Double?
    let depth: Int
}

struct PlanSummary: Sendable {
    let rows: [OpRow]
    let counts: ComputePlanCounts

    /// The device report's `runtime.used`, e.g. "neuralEngine 61 / cpu 3 ops".
    var usedText: String {
        let parts = [("neuralEngine", counts.neuralEngine), ("gpu", counts.gpu), ("cpu", counts.cpu)]
            .filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }
        return parts.isEmpty ? "no ops reported" : parts.joined(separator: " / ") + " ops"
    }
}

@available(iOS 17.4, *)
enum OpsInspector {
    static func summary(modelURL: URL, choice: ComputeChoice) async throws -> PlanSummary {
        let configuration = MLModelConfiguration()
        configuration.computeUnits = choice.units
        let plan = try await MLComputePlan.load(contentsOf: modelURL, configuration: configuration)
        guard case .program(let program) = plan.modelStructure else {
            throw ModelError(description: "not an ML Program")
        }
        guard let main = program.functions["main"] else { throw ModelError(description: "no main function") }
        var rows: [OpRow] = []
        var ne = 0
        var gpu = 0
        var cpu = 0
        func visit(_ block: MLModelStructure.Program.Block, depth: Int) {
            for operation in block.operations {
                let usage = plan.deviceUsage(for: operation)
                if let usage {
                    switch usage.preferred {
                    case .neuralEngine: ne += 1
                    case .gpu: gpu += 1
                    case .cpu: cpu += 1
                    @unknown default: break
                    }
                }
                rows.append(
                    OpRow(
                        id: rows.count, op: operation.operatorName, output: operation.outputs.first?.name ?? "",
                        preferred: usage.map { name($0.preferred) } ?? "–",
                        supported: usage?.supported.map(name) ?? [],
                        cost: plan.estimatedCost(of: operation)?.weight, depth: depth))
                for nested in operation.blocks { visit(nested, depth: depth + 1) }
            }
        }
        visit(main.block, depth: 0)
        return PlanSummary(rows: rows, counts: ComputePlanCounts(neuralEngine: ne, gpu: gpu, cpu: cpu))
    }

    static func name(_ device: MLComputeDevice) -> String {
        switch device {
        case .neuralEngine: "ANE"
        case .gpu: "GPU"
        case .cpu: "CPU"
        @unknown default: "other"
        }
    }
}
#endif
