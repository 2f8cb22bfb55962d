import Foundation
import PocketSRCore
import Testing

@Suite struct BundleVectorsTests {
    private func data(_ bundle: Any) throws -> Data { try JSONSerialization.data(withJSONObject: bundle) }

    @Test func validBundlesAreRead() throws {
        for c in try Vectors.json("bundles.json").list("valid") {
            let b = try PocketBundle.parse(data(c["bundle"]!))
            #expect(b.schemaVersion == PocketBundle.schemaVersion)
            let raws = (c["bundle"] as! [String: Any])["artifacts"] as! [[String: Any]]
            for (a, raw) in zip(b.artifacts, raws) {
                let tiling = raw["tiling"] as! [String: Any]
                #expect(a.radius == (tiling["radius"] as? NSNumber)?.intValue)
                #expect(a.exactTiling == (tiling["exact"] as! Bool))
                let seam = (tiling["seam_psnr_db"] as? NSNumber)?.doubleValue
                #expect((a.seamPsnrDb == nil) == (seam == nil))
                if let s = seam, let ours = a.seamPsnrDb { #expect(abs(ours - s) <= 1e-9) }
            }
            #expect(!(b.coreML.isEmpty))
            for a in b.coreML {
                #expect(a.output.shape == [1, 3, a.outputH, a.outputW])
                let set = b.goldenSet(of: a)
                #expect(set.inputH == a.inputH && set.inputW == a.inputW)
                #expect(a.gate(fp16Arithmetic: true) <= a.gate(fp16Arithmetic: false))
                #expect(a.io == .image)
            }
            #expect(b.artifacts.count == 3)  // the TFLite entries are read too (the Android app runs them)
        }
    }

    @Test func invalidBundlesAreRefusedWithOneLine() throws {
        let cases = try Vectors.json("bundles.json").list("invalid")
        #expect(cases.count >= 8)
        for c in cases {
            let name = c["name"] as! String
            guard (c["apps"] as! [String]).contains("ios") else { continue }  // a TFLite rule: the Android app's
            do {
                _ = try PocketBundle.parse(data(c["bundle"]!))
                Issue.record("\(name): accepted")
            } catch let e as BundleError {
                #expect(
                    e.description.lowercased().contains((c["error_contains"] as! String).lowercased()),
                    "\(name): '\(e)'")
                #expect(!(e.description.contains("\n")))
            }
        }
        for text in ["", "{", "[1, 2]", "{\"bundle\": \"pocketsr app bundle\"}"] {
            #expect(throws: (any Error).self, "\(text)") { try PocketBundle.parse(Data(text.utf8)) }
        }
    }
}

@Suite struct StatsAndReportTests {
    @Test func fpsLatencyAndThermalPolicy() throws {
        var m = FpsMeter(smoothing: 0.5)
        #expect(m.tick(nanoseconds: 0) == 0)
        #expect(abs((m.tick(nanoseconds: 10_000_000)) - (100)) <= 1e-9)
        #expect(abs((m.tick(nanoseconds: 30_000_000)) - (1e9 / 15_000_000)) <= 1e-9)
        #expect(
            try LatencyStats.summarize([100, 5, 3, 4, 9, 1], warmup: 1)
                == LatencyMs(runs: 5, warmup: 1, median: 4, min: 1, max: 9, p90: 9))
        #expect(throws: (any Error).self) { try LatencyStats.summarize([1], warmup: 1) }
        #expect(ThermalPolicy.advice(for: "nominal").frameStride == 1)
        #expect(ThermalPolicy.advice(for: "serious").frameStride == 2)
        #expect(ThermalPolicy.advice(for: "critical").frameStride == 0)
        #expect(ThermalPolicy.advice(for: "critical").message != nil)
    }

    private func record(
        _ requested: String, sha: String = String(repeating: "0123456789abcdef", count: 4)
    ) throws -> RunRecord {
        let golden = (0..<12).map { Double($0) / 12 }
        let out = golden.enumerated().map { $1 + ($0 % 3 == 0 ? 1e-4 : 0) }
        let figures = try GoldenParity.measure(output: out, golden: golden, eightBit: false)
        let identical = try GoldenParity.measure(output: golden, golden: golden, eightBit: false)
        return RunRecord(
            artifactFile: "lkdn-s_x4_48x64_fp16.mlpackage", sha256: sha, runtimeVersion: "iOS 18.2",
            requested: requested, used: requested == "cpuOnly" ? "cpu 64 ops" : "neuralEngine 61 / cpu 3 ops",
            fp16Arithmetic: requested != "cpuOnly",
            computePlan: requested == "cpuOnly" ? nil : ComputePlanCounts(neuralEngine: 61, gpu: 0, cpu: 3),
            firstLoadMs: 812, latency: try LatencyStats.summarize([30, 20, 21, 22], warmup: 1), peakMemoryMb: nil,
            thermalBefore: "nominal", thermalAfter: "fair",
            goldens: [
                NamedFigures(name: "astronaut-0", figures: figures),
                NamedFigures(name: "chelsea-0", figures: identical),
            ],
            gateDb: 60, passed: GoldenParity.passes([figures, identical], floorDb: 60), fallback: nil, errors: [])
    }

    /// Written where POCKETSR_DEVICE_REPORT_OUT says, so ios_demo/check validates it with the Python schema validator.
    @Test func reportIsWrittenWithEveryRequiredField() throws {
        let data = try DeviceReport.json(
            appName: "pocketsr demo (swift test)", appVersion: "0.1.0-test",
            device: DeviceInfo(
                maker: "Linux", model: "swift test (not a measurement)",
                osVersion: "iOS 18.2", soc: nil),
            bundleCreated: "2026-12-04T07:12:43+00:00", bundlePocketsr: "0.1.0",
            runs: [try record("cpuOnly"), try record("all")], createdUTC: "2026-12-04T08:00:00Z")
        if let out = ProcessInfo.processInfo.environment["POCKETSR_DEVICE_REPORT_OUT"], !out.isEmpty {
            try data.write(to: URL(fileURLWithPath: out))
        }
        let o = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(o["report"] as? String == "pocketsr device report")
        let run = o.list("runs")[1]
        #expect(run.dict("runtime")["arithmetic"] as? String == "fp16")
        #expect(run.dict("runtime").dict("compute_plan").int("neural_engine") == 61)
        #expect(o.list("runs")[0].dict("runtime").isNull("compute_plan"))
        let g = run.list("goldens")
        #expect(g[1].isNull("psnr_db") && (g[1]["identical"] as! Bool))
        #expect(g[0].double("psnr_db") > 60)
        #expect(run.isNull("peak_memory_mb") && (run["passed"] as! Bool))
    }

    @Test func badRecordsAreRefused() throws {
        let device = DeviceInfo(maker: "m", model: "m", osVersion: "o", soc: nil)
        #expect(throws: (any Error).self) {
            try DeviceReport.json(
                appName: "a", appVersion: "1", device: device, bundleCreated: nil, bundlePocketsr: nil,
                runs: [try record("cpuOnly", sha: "xyz")], createdUTC: "2026-12-04T08:00:00Z")
        }
        #expect(throws: (any Error).self) {
            try DeviceReport.json(
                appName: "a", appVersion: "1", device: device, bundleCreated: nil, bundlePocketsr: nil,
                runs: [try record("npu")], createdUTC: "2026-12-04T08:00:00Z")
        }
    }
}
