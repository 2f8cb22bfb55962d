import Foundation
import PocketSRCore
import Testing

@Suite struct PixelsVectorsTests {
    @Test func uInt8ToFloatAndBack() throws {
        let v = try Vectors.json("pixels.json")
        let a = v.dict("uint8_to_float")
        for (i, o) in zip(a["in"] as! [NSNumber], a["out"] as! [NSNumber]) {
            #expect(Pixels.u8ToFloat(i.uint8Value) == o.floatValue)
        }
        let b = v.dict("float_to_uint8")
        for (i, o) in zip(b["in"] as! [NSNumber], b["out"] as! [NSNumber]) {
            #expect(Pixels.floatToU8(i.floatValue) == o.uint8Value, "float_to_uint8(\(i))")
        }
        for level in 0...255 { #expect(Pixels.floatToU8(Pixels.u8ToFloat(UInt8(level))) == UInt8(level)) }
        #expect(Pixels.floatToU8(.nan) == 0)
    }

    @Test func yUV420ToRGBInBothLayoutsAndRanges() throws {
        let cases = try Vectors.json("pixels.json").dict("yuv420_to_rgb").list("cases")
        #expect(cases.count >= 4)
        for c in cases {
            let h = c.int("height")
            let w = c.int("width")
            let full = (c["range"] as! String) == "full"
            let want = c.ints("rgb").map(UInt8.init)
            for layout in ["i420", "nv21"] {
                let data = c.ints(layout).map(UInt8.init)
                #expect(
                    try Pixels.yuv420ToRGB(height: h, width: w, data: data, nv21: layout == "nv21", fullRange: full)
                        == want, "\(h)x\(w) \(c["range"]!) \(layout)")
            }
        }
    }

    @Test func centreCropFollowsTheRotation() throws {
        // a 640x480 landscape sensor frame, portrait phone (rotation 90): upright 480x640; a 320x180 (h x w) input
        // has aspect 0.5625 < 0.75, so the full height and the middle 360 columns
        #expect(
            try FrameGeometry.centreCrop(
                frameWidth: 640, frameHeight: 480, rotationDegrees: 90, inputH: 320, inputW: 180)
                == CropRect(x: 60, y: 0, width: 360, height: 640))
        #expect(
            try FrameGeometry.centreCrop(
                frameWidth: 640, frameHeight: 480, rotationDegrees: 0, inputH: 180, inputW: 320)
                == CropRect(x: 0, y: 60, width: 640, height: 360))
        #expect(
            try FrameGeometry.centreCrop(frameWidth: 40, frameHeight: 10, rotationDegrees: 180, inputH: 10, inputW: 10)
                == CropRect(x: 15, y: 0, width: 10, height: 10))
        #expect(throws: (any Error).self) {
            try FrameGeometry.centreCrop(frameWidth: 4, frameHeight: 4, rotationDegrees: 45, inputH: 1, inputW: 1)
        }
    }
}

@Suite struct ParityVectorsTests {
    private func doubles(_ a: Any?) -> [Double] { (a as! [Any]).map { ($0 as? NSNumber)?.doubleValue ?? .nan } }

    private func output(_ c: [String: Any]) -> [Double] {
        if let levels = c["out_levels"] { return doubles(levels).map { $0 / 255 } }
        if let q = c["out_quantized"] as? [String: Any] {
            let zero = q.int("zero_point")
            return q.ints("q").map { Double($0 - zero) / 255 }
        }
        return doubles(c["out"])
    }

    private func close(_ want: Double, _ got: Double?, _ what: String) {
        guard let got else {
            Issue.record("\(what): got nil, want \(want)")
            return
        }
        #expect(abs(want - got) <= 1e-9 * max(abs(want), 1e-300), "\(what)")
    }

    @Test func casesAreReproduced() throws {
        let v = try Vectors.json("parity.json")
        let cases = v.list("cases")
        #expect(cases.count >= 7)
        for c in cases {
            let name = c["name"] as! String
            let want = c.dict("expected")
            let got = try GoldenParity.measure(
                output: output(c), golden: doubles(c["golden"]), eightBit: c["eight_bit"] as! Bool)
            #expect(got.identical == want["identical"] as! Bool, "\(name)")
            #expect(got.nan == want["nan"] as! Bool, "\(name)")
            #expect(got.changed8bit == want.double("changed_8bit"), "\(name)")
            if want.isNull("psnr_db") {
                #expect(got.psnrDb == nil, "\(name)")
            } else {
                close(want.double("psnr_db"), got.psnrDb, name)
            }
            if want.isNull("max_abs") {
                #expect(got.maxAbs == nil, "\(name)")
            } else {
                close(want.double("max_abs"), got.maxAbs, name)
            }
        }
    }

    @Test func verdictsAreReproduced() throws {
        for v in try Vectors.json("parity.json").list("verdicts") {
            let psnr = v["psnr_db"] as! [Any]
            let nans = (v["nan"] as? [Bool]) ?? Array(repeating: false, count: psnr.count)
            let figures = psnr.enumerated().map { i, p in
                let value = (p as? NSNumber)?.doubleValue
                return ParityFigures(
                    psnrDb: value, identical: value == nil && !nans[i], nan: nans[i], maxAbs: nil, changed8bit: 0)
            }
            #expect(GoldenParity.passes(figures, floorDb: v.double("gate_db")) == v["passed"] as! Bool, "\(v)")
        }
    }

    /// Read with JSONDecoder: on Linux, JSONSerialization can be one ulp off for some doubles
    /// (0.3358430862426758 -> ...759), JSONDecoder parses them exactly.
    private struct NpyCase: Decodable {
        let file: String
        let shape: [Int]
        let values: [Double]
    }
    private struct NpyCases: Decodable { let npy: [NpyCase] }

    @Test func npyGoldensAreRead() throws {
        for e in try JSONDecoder().decode(NpyCases.self, from: Vectors.data("parity.json")).npy {
            let a = try Npy.read(Vectors.data(e.file))
            #expect(a.shape == e.shape)
            #expect(a.values == e.values)
        }
        #expect(throws: (any Error).self) { try Npy.read(Data("not npy".utf8)) }
    }

    @Test func windowsOfImageAndTensorOutputs() throws {
        // a 3x2 BGRA image with 4 padding bytes per row; window [1, 0, 2, 2]
        var bytes = [UInt8](repeating: 0, count: 3 * 12)
        for y in 0..<3 {
            for x in 0..<2 {
                let p = y * 12 + x * 4
                bytes[p] = UInt8(10 * y + x)
                bytes[p + 1] = 100
                bytes[p + 2] = 200
            }
        }
        let w = try GoldenParity.windowOf8Bit(
            bytes: bytes, width: 2, height: 3, bytesPerRow: 12, bytesPerPixel: 4,
            rgbOffsets: (2, 1, 0), window: [1, 0, 2, 2])
        #expect(w == [200, 100, 10, 200, 100, 11, 200, 100, 20, 200, 100, 21].map { Double($0) / 255 })
        let nchw: [Float] = (0..<12).map(Float.init)  // (1, 3, 2, 2)
        #expect(
            try GoldenParity.windowOfNCHW(values: nchw, height: 2, width: 2, window: [0, 1, 2, 1]) == [
                1, 5, 9, 3, 7, 11,
            ])
        #expect(throws: (any Error).self) {
            try GoldenParity.windowOfNCHW(values: nchw, height: 2, width: 2, window: [1, 1, 2, 1])
        }
    }
}
