// Where the ops run (debug view): the compute plan of a package for the chosen compute units, op by op.
#if canImport(SwiftUI) && canImport(CoreML)
import SwiftUI

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
