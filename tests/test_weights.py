"""Weight download against a real HTTP server on 127.0.0.1, and bad-weights errors."""

import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from conftest import PHOTOS, WEIGHTS, assert_one_line_error, run_cli
from pocketsr.mobile_models import create_model, get_spec, resolve_weights, sha256_file
from pocketsr.errors import WeightsError

FMEN = "FMEN-S_x4_test_weights.pt"


class Handler(SimpleHTTPRequestHandler):
    """Serves a folder; ``/truncated/<file>`` announces the full length but sends half."""

    requests = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        Handler.requests.append(self.path)
        if self.path.startswith("/truncated/"):
            data = (Path(self.directory) / self.path.split("/")[-1]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture()
def server(tmp_path, monkeypatch):
    root = tmp_path / "www"
    (root / "ok").mkdir(parents=True)
    (root / "wrong").mkdir()
    (root / "truncated").mkdir()
    shutil.copy(WEIGHTS / FMEN, root / "ok" / FMEN)
    shutil.copy(WEIGHTS / FMEN, root / FMEN)
    shutil.copy(WEIGHTS / "LKDN-S_del_rep_x4.pth", root / "wrong" / FMEN)  # right name, wrong bytes
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    cache = tmp_path / "cache"
    monkeypatch.delenv("POCKETSR_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("POCKETSR_CACHE_DIR", str(cache))
    Handler.requests = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}", cache
    httpd.shutdown()
    httpd.server_close()


def entry():
    return get_spec("fmen-s").pretrained_source


def test_download_verifies_and_caches(server, monkeypatch):
    base, cache = server
    monkeypatch.setenv("POCKETSR_WEIGHTS_URL", f"{base}/ok")
    model = create_model("fmen-s")
    assert sha256_file(cache / FMEN) == entry().sha256
    assert Handler.requests == [f"/ok/{FMEN}"]
    create_model("fmen-s")  # second time: from the cache, no request
    assert len(Handler.requests) == 1
    assert sum(p.numel() for p in model.parameters()) == 341_066
    # a corrupted cache entry is detected and fetched again
    (cache / FMEN).write_bytes(b"garbage")
    assert resolve_weights(entry(), progress=False) == cache / FMEN
    assert len(Handler.requests) == 2 and sha256_file(cache / FMEN) == entry().sha256


@pytest.mark.parametrize("folder,message", [
    ("wrong", "wrong sha256"),
    ("missing", "HTTP 404"),
    ("truncated", "truncated transfer"),
])
def test_download_failures_leave_no_file(server, monkeypatch, folder, message):
    base, cache = server
    monkeypatch.setenv("POCKETSR_WEIGHTS_URL", f"{base}/{folder}")
    with pytest.raises(WeightsError, match=message):
        resolve_weights(entry(), progress=False)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_unreachable_server_is_one_line(server, monkeypatch):
    monkeypatch.setenv("POCKETSR_WEIGHTS_URL", "http://127.0.0.1:9/none")
    with pytest.raises(WeightsError, match="POCKETSR_WEIGHTS_DIR"):
        resolve_weights(entry(), progress=False)


def test_weights_dir_sha_mismatch(tmp_path, monkeypatch):
    shutil.copy(WEIGHTS / "LKDN-S_x4.pth", tmp_path / FMEN)
    monkeypatch.setenv("POCKETSR_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        create_model("fmen-s")
    monkeypatch.setenv("POCKETSR_WEIGHTS_DIR", str(tmp_path / "empty"))
    with pytest.raises(WeightsError, match="not found in POCKETSR_WEIGHTS_DIR"):
        create_model("fmen-s")


def _bad_files(tmp_path):
    text = tmp_path / "notes.pth"
    text.write_text("these are not weights\n")
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes((WEIGHTS / "LKDN-S_x4.pth").read_bytes()[:300_000])
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(8, 3, 3, 3), "conv.bias": torch.zeros(8)}, other)
    return {
        "missing": (tmp_path / "nope.pth", "weights file not found"),
        "text": (text, "cannot read"),
        "truncated": (truncated, "cannot read"),
        "other": (other, "does not fit LKDN-S"),
        "fmen": (WEIGHTS / FMEN, "looks like FMEN-S deploy-form weights"),
    }


@pytest.mark.parametrize("case", ["missing", "text", "truncated", "other", "fmen"])
def test_bad_weights_cli_errors(tmp_path, capfd, case):
    path, fragment = _bad_files(tmp_path)[case]
    out = tmp_path / "sr.png"
    code, _, err = run_cli(capfd, "upscale", PHOTOS / "camera.png", "-o", out, "-m", "lkdn-s", "--weights", path)
    assert_one_line_error(code, err, fragment)
    assert not out.exists()


def test_local_weights_form_is_detected(photo_crops):
    x = torch.from_numpy(photo_crops[0])
    a = create_model("lkdn-s", weights=WEIGHTS / "LKDN-S_x4.pth")           # training form
    b = create_model("lkdn-s", weights=WEIGHTS / "LKDN-S_del_rep_x4.pth")   # deploy form
    with torch.no_grad():
        assert (a(x) - b(x)).abs().max() < 1e-5
    with pytest.raises(WeightsError, match="does not fit LKDN-S.*shape mismatches.*looks like LKDN x4"):
        create_model("lkdn-s", weights=WEIGHTS / "LKDN_x4.pth")  # full LKDN: 56 channels, 8 blocks
