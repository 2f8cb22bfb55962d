// Where the ops run: MLComputePlan (iOS 17.4+) lists each ML Program op with its preferred and supported devices,
// so a user sees e.g. LKDN-S's 13x13 depthwise convs leave the Neural Engine.
#if canImport(SwiftUI) && canImport(CoreML)
import CoreML
import PocketSRCore
import SwiftUI

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

struct OpsView: View {
    let loaded: LoadedBundle
    @State private var selected: BundledModel?
    @State private var choice: ComputeChoice = .all
    @State private var summary: PlanSummary?
    @State private var error: String?
    @State private var onlyOffEngine = false

    var body: some View {
        NavigationStack {
            List {
                Section {
                    Picker("Package", selection: $selected) {
                        ForEach(loaded.models) { Text($0.label).tag(Optional($0)) }
                    }
                    Picker("Compute units", selection: $choice) {
                        ForEach(ComputeChoice.allCases) { Text($0.title).tag($0) }
                    }
                    Toggle("Only ops not on the Neural Engine", isOn: $onlyOffEngine)
                    if let summary { Text(summary.usedText).font(.headline) }
                    if let error { Text(error).foregroundStyle(.red) }
                }
                if let summary {
                    Section("Ops (preferred device · supported · relative cost)") {
                        ForEach(
                            summary.rows.filter { !onlyOffEngine || ($0.preferred != "ANE" && $0.preferred != "–") }
                        ) { row in
                            HStack {
                                Text(String(repeating: "  ", count: row.depth) + row.op).font(.caption.monospaced())
                                Spacer()
                                Text(row.preferred).bold()
                                    .foregroundStyle(row.preferred == "ANE" ? Color.green : Color.orange)
                                Text(row.supported.joined(separator: ",")).font(.caption2).foregroundStyle(.secondary)
                                Text(row.cost.map { String(format: "%.3f", $0) } ?? "").font(
                                    .caption2.monospacedDigit())
                            }
                        }
                    }
                }
            }
            .navigationTitle("Where the ops run")
        }
        .onAppear { if selected == nil { selected = loaded.models.first } }
        .task(id: "\(selected?.id ?? "")|\(choice.rawValue)") { await inspect() }
    }

    private func inspect() async {
        guard let selected else { return }
        summary = nil
        error = nil
        if #available(iOS 17.4, *) {
            do {
                summary = try await OpsInspector.summary(modelURL: selected.compiledURL, choice: choice)
            } catch {
                self.error = "compute plan: \(error)"
            }
        } else {
            error = "MLComputePlan needs iOS 17.4; update the OS to see where each op runs."
        }
    }
}
#endif
