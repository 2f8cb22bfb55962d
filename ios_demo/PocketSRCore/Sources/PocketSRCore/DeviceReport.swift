import Foundation

/// The phone, as the device report's `device` object records it.
public struct DeviceInfo: Sendable {
    public let maker: String, model: String, osVersion: String, soc: String?
    public init(maker: String, model: String, osVersion: String, soc: String?) {
        self.maker = maker
        self.model = model
        self.osVersion = osVersion
        self.soc = soc
    }
}

/// Where Core ML placed the ops (`MLComputePlan`, iOS 17.4+): op counts per preferred device.
public struct ComputePlanCounts: Equatable, Sendable {
    public let neuralEngine: Int, gpu: Int, cpu: Int
    public init(neuralEngine: Int, gpu: Int, cpu: Int) {
        self.neuralEngine = neuralEngine
        self.gpu = gpu
        self.cpu = cpu
    }
}

/// One golden image's figures in a run.
public struct NamedFigures: Sendable {
    public let name: String, figures: ParityFigures
    public init(name: String, figures: ParityFigures) {
        self.name = name
        self.figures = figures
    }
}

/// One self-check run: one package on one compute-unit setting. Times in ms, memory in MB.
public struct RunRecord: Sendable {
    public let artifactFile: String, sha256: String, runtimeVersion: String
    /// "all" | "cpuAndNeuralEngine" | "cpuAndGPU" | "cpuOnly"
    public let requested: String
    /// what ran, e.g. "neuralEngine 61 / cpu 3 ops"
    public let used: String
    public let fp16Arithmetic: Bool
    public let computePlan: ComputePlanCounts?
    /// model load including compilation
    public let firstLoadMs: Double
    public let latency: LatencyMs
    public let peakMemoryMb: Double?
    /// `ProcessInfo.ThermalState` names: nominal, fair, serious, critical
    public let thermalBefore: String, thermalAfter: String
    public let goldens: [NamedFigures]
    public let gateDb: Double, passed: Bool
    public let fallback: String?
    public let errors: [String]

    public init(
        artifactFile: String, sha256: String, runtimeVersion: String, requested: String, used: String,
        fp16Arithmetic: Bool, computePlan: ComputePlanCounts?, firstLoadMs: Double, latency: LatencyMs,
        peakMemoryMb: Double?, thermalBefore: String, thermalAfter: String, goldens: [NamedFigures],
        gateDb: Double, passed: Bool, fallback: String?, errors: [String]
    ) {
        self.artifactFile = artifactFile
        self.sha256 = sha256
        self.runtimeVersion = runtimeVersion
        self.requested = requested
        self.used = used
        self.fp16Arithmetic = fp16Arithmetic
        self.computePlan = computePlan
        self.firstLoadMs = firstLoadMs
        self.latency = latency
        self.peakMemoryMb = peakMemoryMb
        self.thermalBefore = thermalBefore
        self.thermalAfter = thermalAfter
        self.goldens = goldens
        self.gateDb = gateDb
        self.passed = passed
        self.fallback = fallback
        self.errors = errors
    }
}

/// Writes validate/schemas/device_report.schema.json (version 1) for the iOS app (runtime Core ML).
public enum DeviceReport {
    static let computeUnits: Set<String> = ["all", "cpuAndNeuralEngine", "cpuAndGPU", "cpuOnly"]
    static let thermal: Set<String> = ["nominal", "fair", "serious", "critical", "unknown"]

    /// The report as UTF-8 JSON. `createdUTC`: ISO-8601 UTC, e.g. `2026-12-04T08:00:00Z`.
    /// - Throws: ``ParityError`` for what the schema would refuse (no runs, unknown compute
    ///   units or thermal state, a sha256 that is not 64 hex digits, no golden images).
    public static func json(
        appName: String, appVersion: String, device: DeviceInfo, bundleCreated: String?,
        bundlePocketsr: String?, runs: [RunRecord], createdUTC: String
    ) throws -> Data {
        guard !runs.isEmpty else { throw ParityError(description: "a device report needs at least one run") }
        var root: [String: Any] = [
            "report": "pocketsr device report", "schema_version": 1, "created": createdUTC,
            "app": ["platform": "ios", "name": appName, "version": appVersion],
            "device": [
                "maker": device.maker, "model": device.model, "os_version": device.osVersion,
                "soc": device.soc ?? NSNull(),
            ] as [String: Any],
            "runs": try runs.map(run),
        ]
        if bundleCreated != nil || bundlePocketsr != nil {
            var b: [String: Any] = [:]
            if let bundleCreated { b["created"] = bundleCreated }
            if let bundlePocketsr { b["pocketsr"] = bundlePocketsr }
            root["bundle"] = b
        }
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
    }

    private static func value(_ d: Double?) -> Any { d.map { $0 as Any } ?? NSNull() }

    private static func run(_ r: RunRecord) throws -> [String: Any] {
        guard computeUnits.contains(r.requested) else {
            throw ParityError(
                description:
                    "requested compute units '\(r.requested)' are not all, cpuAndNeuralEngine, cpuAndGPU or cpuOnly")
        }
        guard r.sha256.count == 64, r.sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw ParityError(description: "sha256 of \(r.artifactFile) is not 64 lower-case hex digits")
        }
        guard thermal.contains(r.thermalBefore), thermal.contains(r.thermalAfter) else {
            throw ParityError(
                description: "thermal state \(r.thermalBefore)/\(r.thermalAfter) is not a ProcessInfo.ThermalState name"
            )
        }
        guard !r.goldens.isEmpty else {
            throw ParityError(description: "run of \(r.artifactFile) has no golden images")
        }
        var runtime: [String: Any] = [
            "name": "coreml", "version": r.runtimeVersion, "requested": r.requested, "used": r.used,
            "arithmetic": r.fp16Arithmetic ? "fp16" : "fp32",
        ]
        if let p = r.computePlan {
            runtime["compute_plan"] = ["neural_engine": p.neuralEngine, "gpu": p.gpu, "cpu": p.cpu]
        } else {
            runtime["compute_plan"] = NSNull()
        }
        return [
            "artifact": ["file": r.artifactFile, "sha256": r.sha256],
            "runtime": runtime,
            "first_load_ms": r.firstLoadMs,
            "latency_ms": [
                "runs": r.latency.runs, "warmup": r.latency.warmup, "median": r.latency.median,
                "min": r.latency.min, "max": r.latency.max, "p90": r.latency.p90,
            ],
            "peak_memory_mb": value(r.peakMemoryMb),
            "thermal": ["before": r.thermalBefore, "after": r.thermalAfter],
            "goldens": r.goldens.map { g -> [String: Any] in
                [
                    "name": g.name, "psnr_db": value(g.figures.psnrDb), "identical": g.figures.identical,
                    "nan": g.figures.nan, "max_abs": value(g.figures.maxAbs), "changed_8bit": g.figures.changed8bit,
                ]
            },
            "gate_db": r.gateDb,
            "passed": r.passed,
            "fallback": r.fallback.map { $0 as Any } ?? NSNull(),
            "errors": r.errors,
        ]
    }
}
