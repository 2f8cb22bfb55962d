// Self-check's UI state: runs every package x compute-unit setting in turn (cancellable) and writes the device
// report file for the share sheet.
#if canImport(CoreML) && canImport(UIKit)
import Foundation
import Observation
import PocketSRCore

@MainActor
@Observable
final class SelfCheckState {
    var outcomes: [CheckOutcome] = []
    var status = ""
    var job: Task<Void, Never>?
    var reportURL: URL?
    var reportError: String?

    func start(loaded: LoadedBundle, settings: BenchSettings) {
        job?.cancel()
        outcomes = []
        reportURL = nil
        reportError = nil
        job = Task {
            defer { job = nil }
            let log: @Sendable (String) -> Void = { line in Task { @MainActor in self.status = line } }
            for model in loaded.models {
                for choice in ComputeChoice.allCases {
                    if Task.isCancelled { break }
                    let outcome = await SelfCheckRunner.run(
                        model, choice: choice, loaded: loaded, settings: settings, log: log)
                    outcomes.append(outcome)
                }
            }
            status = Task.isCancelled ? "cancelled" : "done"
            let records = outcomes.compactMap(\.record)
            guard !records.isEmpty else { return }
            do {
                reportURL = try SelfCheckRunner.reportFile(loaded: loaded, records: records)
            } catch {
                reportError = "device report: \(error)"
            }
        }
    }
}
#endif
