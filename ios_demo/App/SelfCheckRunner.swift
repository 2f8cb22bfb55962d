// Self-check & benchmark: every bundled Core ML package x every compute-unit setting runs the bundle's golden set
// (validate/PARITY.md via the core's GoldenParity), is timed (first load incl. compile, then N runs after warm-up),
// and becomes one RunRecord of the device report (core DeviceReport.json), shared for `pocketsr device-report`.
#if canImport(CoreML) && canImport(UIKit)
import CoreML
import Foundation
import PocketSRCore

struct BenchSettings: Sendable {
    var warmup = 3
    var runs = 10
}

/// One (package, compute units) outcome. A run that could not produce figures has no record (the report schema
/// requires goldens and latency) and is listed on screen with its error instead.
struct CheckOutcome: Sendable, Identifiable {
    let id = UUID()
    let label: String
    let choice: ComputeChoice
    let record: RunRecord?
    let failure: String?
}

enum SelfCheckRunner {
    /// Runs off the main actor; every Core ML object stays local to this call.
    static func run(
        _ model: BundledModel, choice: ComputeChoice, loaded: LoadedBundle, settings: BenchSettings,
        log: @escaping @Sendable (String) -> Void
    ) async -> CheckOutcome {
        let a = model.artifact
        let label = "\(a.label) · \(choice.title)"
        var errors: [String] = []
        let thermalBefore = DeviceFacts.thermalName()
        var peak = DeviceFacts.footprintMb()
        func notePeak() {
            if let now = DeviceFacts.footprintMb() { peak = max(peak ?? 0, now) }
        }
        do {
            log("\(label): loading (first load compiles for these compute units)")
            let handle = try await ModelHandle.load(url: model.compiledURL, artifact: a, choice: choice)
            notePeak()
            var plan: ComputePlanCounts?
            var used = "not reported (MLComputePlan needs iOS 17.4)"
            if #available(iOS 17.4, *) {
                do {
                    let summary = try await OpsInspector.summary(modelURL: model.compiledURL, choice: choice)
                    plan = summary.counts
                    used = summary.usedText
                } catch {
                    used = "unknown (compute plan failed)"
                    errors.append("compute plan: \(error)")
                }
            }
            let set = loaded.bundle.goldenSet(of: a)
            var goldens: [NamedFigures] = []
            var firstInput: [UInt8]?
            for image in set.images {
                try Task.checkCancellation()
                log("\(label): golden \(image.name)")
                let (rgba, w, h) = try PixelIO.decodePNG(Data(contentsOf: loaded.fileURL(image.inputFile)))
                guard w == a.inputW, h == a.inputH else {
                    throw ModelError(
                        description: "\(image.inputFile) is \(w)x\(h), the package takes \(a.inputW)x\(a.inputH)")
                }
                firstInput = firstInput ?? rgba
                let golden = try Npy.read(Data(contentsOf: loaded.fileURL(image.goldenFile)))
                let output = try await windowedOutput(handle, rgba: rgba, window: image.window)
                let figures = try GoldenParity.measure(
                    output: output, golden: golden.values, eightBit: a.output.values == "8bit")
                goldens.append(NamedFigures(name: image.name, figures: figures))
                notePeak()
            }
            guard let benchInput = firstInput else { throw ModelError(description: "golden set is empty") }
            log("\(label): \(settings.warmup) warm-up + \(settings.runs) timed runs")
            var samples: [Double] = []
            for _ in 0..<(settings.warmup + settings.runs) {
                try Task.checkCancellation()
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try await runOnce(handle, rgba: benchInput)
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            notePeak()
            let latency = try LatencyStats.summarize(samples, warmup: settings.warmup)
            let gate = a.gate(fp16Arithmetic: choice.fp16Arithmetic)
            let passed = GoldenParity.passes(goldens.map(\.figures), floorDb: gate)
            let record = RunRecord(
                artifactFile: a.file, sha256: a.sha256, runtimeVersion: "Core ML (\(DeviceFacts.osVersion()))",
                requested: choice.reportName, used: used, fp16Arithmetic: choice.fp16Arithmetic, computePlan: plan,
                firstLoadMs: handle.loadMs, latency: latency, peakMemoryMb: peak,
                thermalBefore: thermalBefore, thermalAfter: DeviceFacts.thermalName(),
                goldens: goldens, gateDb: gate, passed: passed, fallback: nil, errors: errors)
            return CheckOutcome(label: label, choice: choice, record: record, failure: nil)
        } catch {
            return CheckOutcome(label: label, choice: choice, record: nil, failure: "\(error)")
        }
    }

    /// The output window [y, x, h, w] as HWC values in [0, 1] (validate/PARITY.md §1).
    private static func windowedOutput(_ handle: ModelHandle, rgba: [UInt8], window: [Int]) async throws -> [Double] {
        switch handle.artifact.io {
        case .image:
            let out = try await handle.predictImageBytes(rgba: rgba)
            return try GoldenParity.windowOf8Bit(
                bytes: out.bytes, width: handle.artifact.outputW, height: handle.artifact.outputH,
                bytesPerRow: out.bytesPerRow, bytesPerPixel: 4, rgbOffsets: out.rgbOffsets, window: window)
        case .tensor:
            let values = try await handle.predictTensor(rgba: rgba)
            return try GoldenParity.windowOfNCHW(
                values: values, height: handle.artifact.outputH, width: handle.artifact.outputW, window: window)
        }
    }

    private static func runOnce(_ handle: ModelHandle, rgba: [UInt8]) async throws -> Int {
        switch handle.artifact.io {
        case .image: try await handle.predictImageBytes(rgba: rgba).bytes.count
        case .tensor: try await handle.predictTensor(rgba: rgba).count
        }
    }

    static func reportFile(loaded: LoadedBundle, records: [RunRecord]) throws -> URL {
        let data = try DeviceReport.json(
            appName: "pocketsr-ios", appVersion: DeviceFacts.appVersion, device: DeviceFacts.deviceInfo(),
            bundleCreated: loaded.bundle.created, bundlePocketsr: loaded.bundle.pocketsr, runs: records,
            createdUTC: Date.now.formatted(.iso8601))
        let stamp = Date.now.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false))
            .replacingOccurrences(of: ":", with: "")
        let url = FileManager.default.temporaryDirectory.appending(path: "pocketsr-device-report-\(stamp).json")
        try data.write(to: url, options: .atomic)
        return url
    }
}
#endif
