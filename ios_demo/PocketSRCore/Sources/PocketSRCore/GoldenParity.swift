import Foundation

/// The figures of validate/PARITY.md section 3 for one golden image.
public struct ParityFigures: Equatable, Sendable {
    /// nil: identical, or NaN in the output.
    public let psnrDb: Double?
    public let identical: Bool
    public let nan: Bool
    public let maxAbs: Double?
    public let changed8bit: Double

    public init(psnrDb: Double?, identical: Bool, nan: Bool, maxAbs: Double?, changed8bit: Double) {
        self.psnrDb = psnrDb
        self.identical = identical
        self.nan = nan
        self.maxAbs = maxAbs
        self.changed8bit = changed8bit
    }
}

/// A parity input that does not fit; one line.
public struct ParityError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// The on-device parity measure, validate/PARITY.md version 1.
public enum GoldenParity {
    /// `round_half_to_even(clamp(v, 0, 1) * 255)` in Double.
    public static func u8(_ v: Double) -> Int { Int((min(max(v, 0), 1) * 255).rounded(.toNearestOrEven)) }

    /// `output`: the output window as values (8-bit outputs: level / 255); `golden`: the golden
    /// values; both HWC of the same length. `eightBit`: compare with the golden rounded to 8 bits.
    /// - Throws: ``ParityError`` when the lengths differ or are 0.
    public static func measure(output: [Double], golden: [Double], eightBit: Bool) throws -> ParityFigures {
        guard output.count == golden.count, !output.isEmpty else {
            throw ParityError(description: "output window has \(output.count) values, golden \(golden.count)")
        }
        var changed = 0
        var sum = 0.0
        var maxAbs = 0.0
        var nan = false
        for i in output.indices {
            let ref = eightBit ? Double(u8(golden[i])) / 255 : golden[i]
            let o = output[i]
            if o.isNaN {
                nan = true
                changed += 1
                continue
            }
            if u8(o) != u8(ref) { changed += 1 }
            let d = o - ref
            sum += d * d
            maxAbs = max(maxAbs, abs(d))
        }
        let frac = Double(changed) / Double(output.count)
        if nan { return ParityFigures(psnrDb: nil, identical: false, nan: true, maxAbs: nil, changed8bit: frac) }
        let mse = sum / Double(output.count)
        return ParityFigures(
            psnrDb: mse == 0 ? nil : 10 * log10(1 / mse), identical: mse == 0, nan: false,
            maxAbs: maxAbs, changed8bit: frac)
    }

    /// Section 4: every image identical or at least `floorDb`, none with NaN.
    public static func passes(_ figures: [ParityFigures], floorDb: Double) -> Bool {
        figures.allSatisfy { !$0.nan && ($0.identical || ($0.psnrDb ?? -.infinity) >= floorDb) }
    }

    private static func check(_ window: [Int], height: Int, width: Int) throws -> (Int, Int, Int, Int) {
        guard window.count == 4 else { throw ParityError(description: "window \(window) is not [y, x, h, w]") }
        let (y, x, h, w) = (window[0], window[1], window[2], window[3])
        guard y >= 0, x >= 0, h > 0, w > 0, y + h <= height, x + w <= width else {
            throw ParityError(description: "window \(window) does not fit the \(height)x\(width) output")
        }
        return (y, x, h, w)
    }

    /// The window `[y, x, h, w]` of an 8-bit image output (a locked `CVPixelBuffer`'s bytes:
    /// `bytesPerRow` may exceed the width; `rgbOffsets` the byte offsets of R, G, B in a pixel,
    /// e.g. (2, 1, 0) for 32BGRA) as levels / 255, HWC RGB.
    /// - Throws: ``ParityError`` when the window does not fit.
    public static func windowOf8Bit(
        bytes: [UInt8], width: Int, height: Int, bytesPerRow: Int, bytesPerPixel: Int,
        rgbOffsets: (Int, Int, Int), window: [Int]
    ) throws -> [Double] {
        guard bytesPerPixel >= 3, bytesPerRow >= width * bytesPerPixel,
            bytes.count >= (height - 1) * bytesPerRow + width * bytesPerPixel
        else {
            throw ParityError(
                description:
                    "\(bytes.count) bytes do not hold a \(width)x\(height) image of \(bytesPerRow) bytes per row")
        }
        let (y0, x0, h, w) = try check(window, height: height, width: width)
        var r = [Double]()
        r.reserveCapacity(h * w * 3)
        for y in y0..<(y0 + h) {
            for x in x0..<(x0 + w) {
                let p = y * bytesPerRow + x * bytesPerPixel
                r.append(Double(bytes[p + rgbOffsets.0]) / 255)
                r.append(Double(bytes[p + rgbOffsets.1]) / 255)
                r.append(Double(bytes[p + rgbOffsets.2]) / 255)
            }
        }
        return r
    }

    /// The window of a float32 NCHW `(1, 3, height, width)` output (Core ML tensor I/O) as HWC values.
    /// - Throws: ``ParityError`` when the sizes do not fit.
    public static func windowOfNCHW(values: [Float], height: Int, width: Int, window: [Int]) throws -> [Double] {
        guard values.count == 3 * height * width else {
            throw ParityError(description: "\(values.count) values are not (1, 3, \(height), \(width))")
        }
        let (y0, x0, h, w) = try check(window, height: height, width: width)
        var r = [Double]()
        r.reserveCapacity(h * w * 3)
        let plane = height * width
        for y in y0..<(y0 + h) {
            for x in x0..<(x0 + w) {
                for c in 0..<3 { r.append(Double(values[c * plane + y * width + x])) }
            }
        }
        return r
    }
}

/// A golden `.npy` file's contents: shape and values as Double.
public struct NpyArray: Sendable {
    public let shape: [Int]
    public let values: [Double]
}

/// Reads NumPy `.npy` files (format 1.0/2.0), little-endian float32 (`<f4`) or float16 (`<f2`),
/// C order — the golden outputs of a pocketsr bundle (validate/PARITY.md section 1).
public enum Npy {
    /// - Throws: ``ParityError`` for any other file.
    public static func read(_ data: Data) throws -> NpyArray {
        let b = [UInt8](data)
        guard b.count >= 10, b[0] == 0x93, Array(b[1...5]) == Array("NUMPY".utf8) else {
            throw ParityError(description: "not a .npy file")
        }
        let major = b[6]
        let headerLen: Int
        let start: Int
        switch major {
        case 1:
            headerLen = Int(b[8]) | Int(b[9]) << 8
            start = 10
        case 2, 3:
            guard b.count >= 12 else { throw ParityError(description: "truncated .npy header") }
            headerLen = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
            start = 12
        default: throw ParityError(description: ".npy format version \(major) is not supported")
        }
        guard b.count >= start + headerLen, let header = String(bytes: b[start..<(start + headerLen)], encoding: .ascii)
        else {
            throw ParityError(description: "truncated .npy header")
        }
        func value(_ key: String) -> String? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descr = value("descr") else { throw ParityError(description: ".npy header without descr") }
        let size: Int
        if descr.hasPrefix("'<f4'") {
            size = 4
        } else if descr.hasPrefix("'<f2'") {
            size = 2
        } else {
            throw ParityError(description: ".npy dtype \(descr.prefix(6)) is not <f4 or <f2")
        }
        guard let order = value("fortran_order"), order.hasPrefix("False") else {
            throw ParityError(description: ".npy in Fortran order is not supported")
        }
        guard let shapeText = value("shape"), let open = shapeText.firstIndex(of: "("),
            let close = shapeText.firstIndex(of: ")")
        else {
            throw ParityError(description: ".npy header without shape")
        }
        let shape = shapeText[shapeText.index(after: open)..<close].split(separator: ",")
            .compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let count = shape.reduce(1, *)
        let body = start + headerLen
        guard b.count == body + count * size else {
            throw ParityError(
                description: ".npy data has \(b.count - body) bytes, shape \(shape) needs \(count * size)")
        }
        var values = [Double](repeating: 0, count: count)
        for i in 0..<count {
            let p = body + i * size
            if size == 4 {
                let bits = UInt32(b[p]) | UInt32(b[p + 1]) << 8 | UInt32(b[p + 2]) << 16 | UInt32(b[p + 3]) << 24
                values[i] = Double(Float(bitPattern: bits))
            } else {
                values[i] = halfToDouble(UInt16(b[p]) | UInt16(b[p + 1]) << 8)
            }
        }
        return NpyArray(shape: shape, values: values)
    }

    /// IEEE 754 binary16 -> Double, exactly (subnormals, infinities, NaN).
    public static func halfToDouble(_ h: UInt16) -> Double {
        let sign: Double = h & 0x8000 != 0 ? -1 : 1
        let exp = Int((h >> 10) & 0x1F)
        let frac = Double(h & 0x3FF)
        switch exp {
        case 0: return sign * frac * pow(2, -24)
        case 31: return frac == 0 ? sign * .infinity : .nan
        default: return sign * (1 + frac / 1024) * pow(2, Double(exp - 15))
        }
    }
}
