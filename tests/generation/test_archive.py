"""The batch zip is published whole or not at all."""
import csv
import io
import json
import zipfile

import pytest

from generation.archive import BatchZipWriter


def test_committed_zip_holds_images_manifest_and_provenance(tmp_path):
    out = tmp_path / "batch.zip"
    with BatchZipWriter(out) as writer:
        writer.add_image("a.png", b"png-a", {"finding": "Effusion", "source": "Real"})
        writer.commit({"format_version": 1})
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["a.png", "manifest.csv", "provenance.json"]
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        assert json.loads(archive.read("provenance.json")) == {"format_version": 1}
    assert rows[0]["filename"] == "a.png" and rows[0]["source"] == "Real" and rows[0]["bbox_x"] == ""


def test_failure_before_commit_leaves_no_file(tmp_path):
    out = tmp_path / "batch.zip"
    with pytest.raises(RuntimeError), BatchZipWriter(out) as writer:
        writer.add_image("a.png", b"png-a", {"finding": "Effusion", "source": "Real"})
        raise RuntimeError("generator failed")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_an_existing_output_untouched(tmp_path):
    out = tmp_path / "batch.zip"
    out.write_bytes(b"earlier")
    with pytest.raises(RuntimeError), BatchZipWriter(out):
        raise RuntimeError("boom")
    assert out.read_bytes() == b"earlier" and list(tmp_path.iterdir()) == [out]


def test_duplicate_file_names_are_refused(tmp_path):
    with BatchZipWriter(tmp_path / "b.zip") as writer:
        writer.add_image("a.png", b"1", {"finding": "Effusion", "source": "Real"})
        with pytest.raises(ValueError, match="duplicate"):
            writer.add_image("a.png", b"2", {"finding": "Effusion", "source": "Real"})


def test_an_origin_goes_under_origins_with_its_images_name(tmp_path):
    out = tmp_path / "batch.zip"
    with BatchZipWriter(out) as writer:
        writer.add_image("a.png", b"png-a", {"finding": "Effusion", "source": "StarGAN"})
        writer.add_origin("a.png", b"origin-a")
        with pytest.raises(ValueError, match="second origin"):
            writer.add_origin("a.png", b"again")
        with pytest.raises(ValueError, match="not an image of the batch"):
            writer.add_origin("b.png", b"origin-b")
        writer.commit({})
    with zipfile.ZipFile(out) as archive:
        assert archive.read("origins/a.png") == b"origin-a"
        assert sorted(archive.namelist()) == ["a.png", "manifest.csv", "origins/a.png", "provenance.json"]
