// Self-check & benchmark screen: runs SelfCheckRunner over every package x compute-unit setting, shows pass/fail
// and shares the device report (ShareLink) for `pocketsr device-report`.
#if canImport(SwiftUI) && canImport(CoreML) && canImport(UIKit)
import PocketSRCore
import SwiftUI

struct SelfCheckView: View {
    let loaded: LoadedBundle
    @State private var state = SelfCheckState()
    @State private var settings = BenchSettings()

    var body: some View {
        NavigationStack {
            List {
                Section {
                    Stepper("Warm-up runs: \(settings.warmup)", value: $settings.warmup, in: 0...20)
                    Stepper("Timed runs: \(settings.runs)", value: $settings.runs, in: 1...100)
                    if state.job == nil {
                        Button("Run self-check (\(loaded.models.count) packages × 4 compute-unit settings)") {
                            state.start(loaded: loaded, settings: settings)
                        }
                    } else {
                        Button("Cancel", role: .cancel) { state.job?.cancel() }
                    }
                    if !state.status.isEmpty { Text(state.status).font(.caption).foregroundStyle(.secondary) }
                    if let url = state.reportURL {
                        ShareLink("Export device report", item: url)
                    }
                    if let error = state.reportError { Text(error).foregroundStyle(.red) }
                } footer: {
                    Text(
                        "fp16 gate for All / CPU+ANE / CPU+GPU, fp32 gate for CPU (validate/PARITY.md §4). "
                            + "Load time includes Core ML's on-device compile for those units.")
                }
                if !loaded.skipped.isEmpty {
                    Section("Not run here") {
                        ForEach(loaded.skipped, id: \.self) { Text($0).font(.caption) }
                    }
                }
                Section("Results") {
                    ForEach(state.outcomes) { outcome in
                        OutcomeRow(outcome: outcome)
                    }
                }
            }
            .navigationTitle("Self-check")
        }
    }
}

struct OutcomeRow: View {
    let outcome: CheckOutcome

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            HStack {
                Text(outcome.label).font(.subheadline.bold())
                Spacer()
                if let record = outcome.record {
                    Text(record.passed ? "PASS" : "FAIL").bold().foregroundStyle(record.passed ? .green : .red)
                } else {
                    Text("ERROR").bold().foregroundStyle(.red)
                }
            }
            if let record = outcome.record {
                Text(
                    String(
                        format: "first load %.0f ms · median %.2f ms (min %.2f, p90 %.2f) · gate %.0f dB",
                        record.firstLoadMs, record.latency.median, record.latency.min, record.latency.p90, record.gateDb
                    )
                )
                .font(.caption.monospacedDigit())
                Text("ran on: \(record.used)").font(.caption)
                ForEach(record.goldens, id: \.name) { golden in
                    Text("\(golden.name): \(psnrText(golden.figures))").font(.caption2.monospacedDigit())
                }
                ForEach(record.errors, id: \.self) { Text($0).font(.caption2).foregroundStyle(.orange) }
            }
            if let failure = outcome.failure { Text(failure).font(.caption).foregroundStyle(.red) }
        }
    }

    private func psnrText(_ f: ParityFigures) -> String {
        if f.nan { return "NaN in output" }
        if f.identical { return "identical" }
        let psnr = f.psnrDb.map { String(format: "%.2f dB", $0) } ?? "–"
        return psnr + String(format: ", changed 8-bit %.4f", f.changed8bit)
    }
}
#endif
