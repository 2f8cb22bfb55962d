"""Write the shared test vectors validate/vectors/{tiling,pixels,parity,bundles}.json (and the .npy golden
samples parity.json describes) from the Python reference.

The files are committed; tests/test_tiling.py checks that the reference still reproduces them
exactly, and the Android/iOS code must pass the same files. Rerun only when the specification
(validate/TILING.md, validate/PARITY.md) changes on purpose:  .venv/bin/python tools/make_vectors.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pocketsr.runtime.metrics import golden_parity  # noqa: E402
from pocketsr.runtime.colors import float_to_uint8, i420_to_rgb, nv21_to_rgb, uint8_to_float  # noqa: E402
from pocketsr.runtime.tiling import plan_tiles, tiling_plan_record  # noqa: E402

VECTORS = ROOT / "validate" / "vectors"

#: (name, image h, w, tile h, w, overlap, scale): edge cases the apps must get right
TILING_CASES = [
    ("one pixel", 1, 1, 180, 320, 34, 4),
    ("exactly one tile", 180, 320, 180, 320, 63, 4),
    ("smaller than the tile", 97, 131, 180, 320, 63, 4),
    ("taller than the tile only", 181, 100, 180, 320, 34, 4),
    ("one pixel more than the tile", 181, 321, 180, 320, 34, 4),
    ("primes, FMEN-S exact overlap", 499, 997, 180, 320, 34, 4),
    ("primes, LKDN-S exact overlap", 503, 1009, 180, 320, 63, 4),
    ("very wide", 120, 5003, 180, 320, 63, 4),
    ("very tall", 4001, 90, 180, 320, 34, 4),
    ("no overlap", 360, 640, 180, 320, 0, 4),
    ("720p frame, LKDN-S", 720, 1280, 180, 320, 63, 4),
    ("portrait tile", 1280, 720, 320, 180, 34, 4),
    ("x2 scale", 300, 300, 128, 128, 20, 2),
]


def owner_samples(h: int, w: int, tile, overlap: int, scale: int):
    """A few HR pixels with the index of the tile that owns them (corners, centre, seams)."""
    tiles = plan_tiles(h, w, tile, overlap)
    H, W = h * scale, w * scale
    points = {(0, 0), (H - 1, W - 1), (0, W - 1), (H - 1, 0), (H // 2, W // 2)}
    for t in tiles:  # both sides of every seam
        for yy in (t.own_y0 * scale - 1, t.own_y0 * scale):
            points.add((yy, t.own_x0 * scale))
        for xx in (t.own_x1 * scale - 1, min(t.own_x1 * scale, W - 1)):
            points.add((t.own_y0 * scale, xx))
    out = []
    for y, x in sorted(p for p in points if 0 <= p[0] < H and 0 <= p[1] < W):
        owner = [i for i, t in enumerate(tiles)
                 if t.own_y0 * scale <= y < t.own_y1 * scale and t.own_x0 * scale <= x < t.own_x1 * scale]
        assert len(owner) == 1
        out.append([y, x, owner[0]])
    return out


def tiling_vectors():
    cases = []
    for name, h, w, th, tw, o, s in TILING_CASES:
        rec = tiling_plan_record(h, w, (th, tw), o, s)
        rec["owner_samples"] = owner_samples(h, w, (th, tw), o, s)
        cases.append({"name": name, **rec})
    return {"spec": "validate/TILING.md", "version": 1,
            "fields": {"image": "[H, W] LR pixels", "tile": "[h, w] artifact input size",
                       "overlap": "context LR pixels kept on each inner tile side",
                       "canvas": "[max(H, h), max(W, w)]: image edge-replicated bottom/right when smaller than the tile",
                       "tiles": "row-major; y0,y1,x0,x1: LR input rectangle (canvas coordinates, end exclusive); "
                                "own_*: LR rectangle of the image this tile's output owns; hr_own: the same "
                                "times scale [y0, y1, x0, x1]",
                       "owner_samples": "[Y, X, tile index] for some HR output pixels"},
            "cases": cases}


def pixel_vectors():
    rng = np.random.default_rng(601)
    u8 = np.array([0, 1, 2, 127, 128, 254, 255], dtype=np.uint8)
    floats = np.array([-0.5, 0.0, 0.001, 0.00196, 0.5, 0.25, 0.75, 0.998, 0.999, 1.0, 1.5, 0.123456],
                      dtype=np.float32)
    yuv = []
    for h, w in ((2, 2), (4, 6), (3, 5)):
        ch, cw = (h + 1) // 2, (w + 1) // 2
        y = rng.integers(0, 256, (h, w), dtype=np.uint8)
        u = rng.integers(0, 256, (ch, cw), dtype=np.uint8)
        v = rng.integers(0, 256, (ch, cw), dtype=np.uint8)
        if (h, w) == (2, 2):  # grey, and the extremes of the video range
            y[:] = [[128, 16], [235, 255]]
            u[:] = v[:] = 128
        i420 = np.concatenate([y.ravel(), u.ravel(), v.ravel()])
        nv21 = np.concatenate([y.ravel(), np.stack([v, u], axis=-1).ravel()])
        for rng_name in ("full", "video"):
            a = i420_to_rgb(i420, h, w, rng_name)
            b = nv21_to_rgb(nv21, h, w, rng_name)
            assert (a == b).all()
            yuv.append({"height": h, "width": w, "range": rng_name, "matrix": "BT.601",
                        "i420": i420.tolist(), "nv21": nv21.tolist(), "rgb": a.reshape(-1).tolist()})
    return {"spec": "validate/TILING.md#pixels", "version": 1,
            "uint8_to_float": {"in": u8.tolist(), "out": [float(x) for x in uint8_to_float(u8)],
                               "rule": "v / 255 in float32"},
            "float_to_uint8": {"in": [float(x) for x in floats], "out": float_to_uint8(floats).tolist(),
                               "rule": "round_half_to_even(clamp(x, 0, 1) * 255) in float32"},
            "yuv420_to_rgb": {"rule": "BT.601 (Kr 0.299, Kb 0.114); full range or video range (Y 16..235, "
                                      "C 16..240); chroma sample (y // 2, x // 2); float64, round half to "
                                      "even, clamp 0..255; rgb is row-major H x W x 3",
                              "tolerance": "exact in float64; float32 implementations may differ by 1 "
                                           "where the value is within 1e-3 of a half",
                              "cases": yuv}}


def _case(name, out, golden, eight_bit, dequantize=None):
    fig = golden_parity(out, golden, eight_bit)
    case = {"name": name, "shape": list(golden.shape), "eight_bit": eight_bit,
            "golden": [float(v) for v in golden.astype(np.float64).ravel()]}
    if dequantize is not None:
        q, scale, zero = dequantize
        case["out_quantized"] = {"q": q.ravel().tolist(), "scale": scale, "zero_point": zero}
    elif eight_bit:
        case["out_levels"] = np.round(out.astype(np.float64) * 255).astype(int).ravel().tolist()
    else:
        case["out"] = [None if np.isnan(v) else float(v) for v in out.astype(np.float64).ravel()]
    return {**case, "expected": fig}


def parity_vectors():
    """Cases for validate/PARITY.md; the .npy samples are written by :func:`main`."""
    rng = np.random.default_rng(1402)
    golden = rng.random((4, 5, 3), dtype=np.float32)
    noisy = (golden + rng.normal(0, 0.002, golden.shape)).astype(np.float32)
    coarse = (golden + rng.normal(0, 0.05, golden.shape)).astype(np.float32)
    edge_golden = np.array([[[0.5, 0.0, 1.0], [-0.01, 1.02, 0.25]]], dtype=np.float32)  # a tie, clamps
    levels = np.round(np.clip(edge_golden.astype(np.float64), 0, 1) * 255) / 255
    q = rng.integers(-128, 128, (3, 4, 3)).astype(np.int8)
    scale, zero = float(np.float32(1 / 255)), -128
    deq = (q.astype(np.float64) - zero) / 255  # scale is 1/255: compared as levels
    q_golden = (deq + rng.normal(0, 0.001, deq.shape)).astype(np.float32)
    nan_out = noisy.copy()
    nan_out[1, 2, 0] = np.nan
    cases = [
        _case("float output, fp16-like error", noisy, golden, False),
        _case("float output, int8-like error", coarse, golden, False),
        _case("identical float output", golden.copy(), golden, False),
        _case("8-bit output (Core ML image), tie at 0.5 and values outside [0, 1] in the golden",
              levels, edge_golden, True),
        _case("8-bit levels one off at two values", levels + np.array([[[1, 0, 0], [0, 0, -1]]]) / 255, edge_golden, True),
        _case("int8-full output: (q - zero_point) / 255, 8-bit reference", deq, q_golden, True, (q, scale, zero)),
        _case("NaN in the output", nan_out, golden, False),
    ]
    verdicts = [
        {"psnr_db": [62.1, 71.0, None], "gate_db": 60.0, "passed": True},
        {"psnr_db": [62.1, 59.99, 80.0], "gate_db": 60.0, "passed": False},
        {"psnr_db": [None, None], "nan": [False, True], "gate_db": 35.0, "passed": False},
        {"psnr_db": [None], "gate_db": 100.0, "passed": True},
    ]
    npy = {
        "golden_f32.npy": rng.random((2, 3, 3), dtype=np.float32),
        "golden_f16.npy": np.array([[[0.0, 1.0, 0.5], [6.0e-8, 6.1e-5, 0.33325]]], dtype=np.float16),
    }
    files = [{"file": name, "dtype": a.dtype.str, "shape": list(a.shape), "layout": "HWC",
              "values": [float(v) for v in a.astype(np.float64).ravel()]} for name, a in npy.items()]
    return {"spec": "validate/PARITY.md", "version": 1,
            "fields": {"golden": "row-major HWC values of the golden (float32 values as float64 decimals)",
                       "out": "a float output window as values (null: NaN)",
                       "out_levels": "an 8-bit output (Core ML image) as bytes: out = byte / 255 in float64",
                       "out_quantized": "an int8 output with scale 1/255 (int8-full): out = (q - zero_point) / 255 in float64",
                       "expected": "the figures of PARITY.md section 3; psnr_db null when identical or NaN",
                       "tolerance": "psnr_db and max_abs to 1e-9 relative; changed_8bit exact"},
            "cases": cases, "verdicts": verdicts, "npy": files}, npy


def _bundle_artifact(file, precision, dtype, zero_point, values, target="tflite"):
    io_scale = 1 / 255 if dtype == "int8" else None
    nhwc = target == "tflite"
    shape_in, shape_out = ([1, 48, 64, 3], [1, 192, 256, 3]) if nhwc else ([1, 3, 48, 64], [1, 3, 192, 256])
    return {"file": file, "manifest": file + ".json", "sha256": "ab" * 32, "model": "lkdn-s", "title": "LKDN-S",
            "scale": 4, "target": target, "precision": precision, "picked_as": ["fastest"],
            "input": {"name": "lr", "shape": shape_in, "layout": "NHWC" if nhwc else "image", "dtype": dtype,
                      "scale": io_scale, "zero_point": zero_point},
            "output": {"name": "sr", "shape": shape_out, "layout": "NHWC" if nhwc else "image", "dtype": dtype,
                       "scale": io_scale, "zero_point": zero_point, "values": values},
            "io": "tensor" if nhwc else "image", "pixels": {"input": "see convert/CONTRACT.md", "output": "see convert/CONTRACT.md"},
            "tiling": {"tile": [48, 64], "radius": 63, "default_overlap": 12, "exact": False, "seam_psnr_db": None,
                       "spec": "validate/TILING.md"},
            "gate": {"min_parity_psnr_db": 100.0, "min_parity_psnr_db_fp16": 60.0, "report_only": False},
            "golden_set": "lkdn-s_48x64", "desktop_golden_parity": {"figures": [], "passed": True}}


def bundle_vectors():
    """bundle.json cases every app must read (``valid``) or refuse with one line (``invalid``)."""
    image = {"name": "astronaut-0", "photo": "astronaut", "crop": [363, 136, 48, 64],
             "input": {"file": "goldens/lkdn-s_48x64/astronaut-0.png", "format": "png", "dtype": "uint8",
                       "shape": [48, 64, 3], "layout": "HWC"},
             "golden": {"file": "goldens/lkdn-s_48x64/astronaut-0.npy", "format": "npy", "dtype": "float32",
                        "shape": [192, 256, 3], "layout": "HWC"},
             "window": [0, 0, 192, 256]}
    base = {"bundle": "pocketsr app bundle", "schema_version": 1, "created": "2026-12-04T07:12:43+00:00",
            "pocketsr": "0.1.0",
            "specs": {"contract": "convert/CONTRACT.md", "tiling": "validate/TILING.md", "parity": "validate/PARITY.md",
                      "device_report": "validate/schemas/device_report.schema.json"},
            "artifacts": [_bundle_artifact("lkdn-s_x4_48x64_fp32.tflite", "fp32", "float32", None, "float"),
                          _bundle_artifact("lkdn-s_x4_48x64_int8-full.tflite", "int8-full", "int8", -128, "8bit"),
                          _bundle_artifact("lkdn-s_x4_48x64_fp16.mlpackage", "fp16", "uint8", None, "8bit", "coreml")],
            "golden_sets": {"lkdn-s_48x64": {"model": "lkdn-s", "input_size": [48, 64], "scale": 4, "seed": 0,
                                             "images": [image]}}}

    def variant(change):
        b = json.loads(json.dumps(base))
        change(b)
        return b

    def setp(*path_value):
        *path, value = path_value

        def change(b):
            node = b
            for k in path[:-1]:
                node = node[k]
            if value is _DELETE:
                del node[path[-1]]
            else:
                node[path[-1]] = value
        return change

    def not_local(b):
        for a in b["artifacts"]:
            a["tiling"].update(radius=None, default_overlap=16, exact=False, seam_psnr_db=49.57)

    both, android, ios = ["android", "ios"], ["android"], ["ios"]
    invalid = [
        ("schema version 2", "another schema version", "schema_version", both, setp("schema_version", 2)),
        ("not a bundle", "the bundle field names another file kind", "not a pocketsr app bundle", both,
         setp("bundle", "something else")),
        ("no artifacts", "artifacts empty", "no artifacts", both, setp("artifacts", [])),
        ("missing sha256", "an artifact without sha256", "sha256", both, setp("artifacts", 0, "sha256", _DELETE)),
        ("unknown golden set", "golden_set names no golden set", "golden set", both,
         setp("artifacts", 0, "golden_set", "fmen-s_48x64")),
        # the runtime-specific rules: the Android app checks the TFLite entries, the iOS app the Core ML ones
        ("input not RGB", "a 4-channel input", "input", android, setp("artifacts", 0, "input", "shape", [1, 48, 64, 4])),
        ("output not x4", "output shape not scale x input", "output", android,
         setp("artifacts", 0, "output", "shape", [1, 96, 128, 3])),
        ("float64 I/O", "an I/O dtype the runtimes do not feed", "dtype", android,
         setp("artifacts", 0, "input", "dtype", "float64")),
        ("int8 zero point", "int8 I/O whose zero point is not -128", "zero point", android,
         setp("artifacts", 1, "input", "zero_point", 0)),
        ("overlap too large", "default overlap that does not fit the tile", "overlap", android,
         setp("artifacts", 0, "tiling", "default_overlap", 24)),
        ("Core ML input not RGB", "a 4-channel image input", "input", ios,
         setp("artifacts", 2, "input", "shape", [1, 4, 48, 64])),
        ("Core ML output not x4", "output shape not scale x input", "output", ios,
         setp("artifacts", 2, "output", "shape", [1, 3, 96, 128])),
        ("Core ML image I/O as float", "image I/O whose dtype is not uint8", "dtype", ios,
         setp("artifacts", 2, "input", "dtype", "float32")),
        ("Core ML overlap too large", "default overlap that does not fit the tile", "overlap", ios,
         setp("artifacts", 2, "tiling", "default_overlap", 24)),
    ]
    return {"spec": "validate/schemas/bundle.schema.json and convert/CONTRACT.md", "version": 1,
            "rule": "valid: an app reads every artifact; invalid: each app named in apps refuses the bundle "
                    "with one line containing error_contains (case-insensitive); apps not named may accept it",
            "valid": [{"name": "three artifacts (fp32, int8-full, Core ML image)", "bundle": base},
                      {"name": "a network that is not local (RLFN-like: no radius, measured seam PSNR)",
                       "bundle": variant(not_local)}],
            "invalid": [{"name": n, "why": why, "error_contains": err, "apps": apps, "bundle": variant(c)}
                        for n, why, err, apps, c in invalid]}


_DELETE = object()


def main() -> None:
    VECTORS.mkdir(exist_ok=True)
    parity, npy = parity_vectors()
    for name, array in npy.items():
        np.save(VECTORS / name, array)  # NumPy format 1.0, little-endian
        print("wrote", VECTORS / name)
    for name, data in (("tiling.json", tiling_vectors()), ("pixels.json", pixel_vectors()),
                       ("parity.json", parity), ("bundles.json", bundle_vectors())):
        (VECTORS / name).write_text(json.dumps(data, indent=1) + "\n")
        print("wrote", VECTORS / name)


if __name__ == "__main__":
    main()
