"""An admin hears each voice and uploads a voice and a recognition model in the browser; bad uploads are refused
naming the file. `hotline simulate` as a user starts it, headless Chromium."""

from __future__ import annotations

import io
import json
import os
import zipfile

import pytest

from tests.support.browser import CHROMIUM, logged_in

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed (CI installs it)")]


def model_zip(*parts: str) -> bytes:
    """A model archive as Vosk publishes them: one top directory holding the model's parts."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("vosk-model-small-ru-test/README", "vosk-model-small-ru-test\n")
        for part in parts:
            archive.writestr(f"vosk-model-small-ru-test/{part}", b"\0" * 64)
    return out.getvalue()


def upload(page, form: str, files: dict[str, tuple[str, bytes]], language: str | None = None) -> str:
    for field, (name, content) in files.items():
        page.set_input_files(f"{form} input[name={field}]", {"name": name, "mimeType": "application/octet-stream",
                                                              "buffer": content})
    if language:
        page.select_option(f"{form} select[name=language]", language)
    page.click(f"{form} button")
    return page.locator("p.flash").first.inner_text()


def test_an_admin_hears_the_voices_and_uploads_a_voice_and_a_model(simulate_box, browser) -> None:
    base, _, data = simulate_box
    page = browser.new_page()
    logged_in(page, base, data)
    page.goto(base + "/speech")
    for voice in ("espeak-ng-en", "espeak-ng-ru"):
        src = page.locator(f"#voice-{voice} audio").get_attribute("src")
        heard = page.request.get(base + src)
        assert heard.status == 200 and heard.body()[:4] == b"RIFF", voice

    assert "model.zip: not a .zip or .tar.gz archive" in upload(
        page, "#model-upload", {"model": ("model.zip", b"not an archive")}, "ru")
    assert "small.zip: not a whole Vosk model: conf/mfcc.conf missing" in upload(
        page, "#model-upload", {"model": ("small.zip", model_zip("am/final.mdl", "graph/HCLG.fst"))}, "ru")
    assert not (data / "speech" / "models" / "ru").exists(), "a refused model changes nothing"
    upload(page, "#model-upload",
           {"model": ("small.zip", model_zip("am/final.mdl", "conf/mfcc.conf", "graph/HCLG.fst"))}, "ru")
    assert "vosk-model-small-ru-test" in page.locator("#models").inner_text()
    assert (data / "speech" / "models" / "ru" / "am" / "final.mdl").is_file()

    onnx = b"\x08\x07" + bytes(4096)
    settings = json.dumps({"audio": {"sample_rate": 22050}, "phoneme_id_map": {"a": [1]}}).encode()
    assert "ru_RU-test-low.onnx.json: not a Piper voice's settings" in upload(
        page, "#voice-upload", {"onnx": ("ru_RU-test-low.onnx", onnx), "config": ("ru_RU-test-low.onnx.json", b"{}")})
    assert "voice.onnx: not an ONNX model" in upload(
        page, "#voice-upload", {"onnx": ("voice.onnx", b"hello"), "config": ("voice.onnx.json", settings)})
    upload(page, "#voice-upload", {"onnx": ("ru_RU-test-low.onnx", onnx),
                                   "config": ("ru_RU-test-low.onnx.json", settings)})
    assert "piper:ru_RU-test-low" in page.locator("#voices").inner_text()
    page.close()
