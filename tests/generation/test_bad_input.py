"""Bad input: a clear error, and no zip (nor temporary file) left behind."""
from __future__ import annotations

import pytest
import torch

from generation.cli import main
from generation.errors import GenerationError
from generation.generators import parse_checkpoint_argument
from generation.verification import VerificationSetConfig, build_verification_set
from tests.generation.tiny_world import save_tiny_checkpoint


def _build(phantom_dir, checkpoints, out, **options):
    return build_verification_set(VerificationSetConfig(data_dir=phantom_dir, checkpoints=checkpoints, out=out,
                                                        per_cell=options.pop("per_cell", 2), **options))


def _split(checkpoints):
    return torch.load(checkpoints["pix2pix"], weights_only=True)["split"]


def test_missing_checkpoint_file_is_named(phantom_dir, tiny_checkpoints, tmp_path):
    checkpoints = {**tiny_checkpoints, "stargan": tmp_path / "nowhere.pt"}
    with pytest.raises(GenerationError, match="checkpoint for stargan not found: .*nowhere.pt"):
        _build(phantom_dir, checkpoints, tmp_path / "b.zip")
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_of_another_model_in_a_slot_is_refused(phantom_dir, tiny_checkpoints, tmp_path):
    checkpoints = {**tiny_checkpoints, "pix2pix-n": tiny_checkpoints["stargan"]}
    with pytest.raises(GenerationError, match="checkpoint given for pix2pix-n is a stargan model"):
        _build(phantom_dir, checkpoints, tmp_path / "b.zip")


def test_checkpoint_at_another_image_size_is_refused(phantom_dir, tiny_checkpoints, tmp_path):
    small = save_tiny_checkpoint(tmp_path / "small.pt", "stargan", _split(tiny_checkpoints), image_size=64)
    with pytest.raises(GenerationError, match="different image sizes"):
        _build(phantom_dir, {**tiny_checkpoints, "stargan": small}, tmp_path / "b.zip")
    assert not (tmp_path / "b.zip").exists()


def test_a_file_that_is_no_checkpoint_is_refused(phantom_dir, tiny_checkpoints, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(GenerationError, match="checkpoint for pix2pix is not usable"):
        _build(phantom_dir, {**tiny_checkpoints, "pix2pix": junk}, tmp_path / "b.zip")


def test_not_enough_images_of_a_finding_names_it_and_the_counts(phantom_dir, tiny_checkpoints, tmp_path):
    with pytest.raises(GenerationError, match=r"(?s)cannot meet its constraints.*Atelectasis / Pix2Pix and Pix2Pix-N "
                                              r"on equal terms: 9 each .* short by \d+.*StarGAN: need 9 healthy .* "
                                              r"short by \d+"):
        _build(phantom_dir, tiny_checkpoints, tmp_path / "b.zip", per_cell=9)
    assert list(tmp_path.iterdir()) == []


def test_allow_reuse_fills_the_cells_and_records_reuse(tmp_path):
    from training.data.phantom import make_phantom

    make_phantom(tmp_path / "data", disease=42, healthy=30, size=64, seed=5)
    split = {"train": [], "test": []}
    checkpoints = {kind: save_tiny_checkpoint(tmp_path / f"{kind}.pt", kind, split, image_size=64)
                   for kind in ("pix2pix", "pix2pix-n", "stargan")}
    shared = {"pairing": "matched"}  # 7 box images per finding: Real keeps 4, the generators need 4 shared ones
    with pytest.raises(GenerationError, match="--allow-reuse relaxes that"):
        _build(tmp_path / "data", checkpoints, tmp_path / "b.zip", per_cell=4, **shared)
    result = _build(tmp_path / "data", checkpoints, tmp_path / "b.zip", per_cell=4, allow_reuse=True, **shared)
    assert result.images == 96 and result.provenance["reused_images"] > 0
    assert sum(r["reused"] for r in result.provenance["images"]) == result.provenance["reused_images"]


def test_existing_output_is_refused_without_force(phantom_dir, tiny_checkpoints, tmp_path):
    out = tmp_path / "b.zip"
    out.write_bytes(b"earlier work")
    with pytest.raises(GenerationError, match="exists; pass --force"):
        _build(phantom_dir, tiny_checkpoints, out)
    assert out.read_bytes() == b"earlier work"


def test_force_replaces_the_output(phantom_dir, tiny_checkpoints, tmp_path):
    out = tmp_path / "b.zip"
    out.write_bytes(b"earlier work")
    _build(phantom_dir, tiny_checkpoints, out, force=True)
    assert out.read_bytes()[:2] == b"PK"


def test_generator_producing_nans_stops_with_no_zip(phantom_dir, tiny_checkpoints, tmp_path):
    from training.checkpoints import load_checkpoint, save_checkpoint

    payload = load_checkpoint(tiny_checkpoints["pix2pix-n"])
    payload["model"] = {name: torch.full_like(value, float("nan")) if value.is_floating_point() else value
                        for name, value in payload["model"].items()}
    broken = save_checkpoint(tmp_path / "nan.pt", payload)
    out_dir = tmp_path / "out"
    with pytest.raises(GenerationError, match="pix2pix-n generator produced NaN"):
        _build(phantom_dir, {**tiny_checkpoints, "pix2pix-n": broken}, out_dir / "b.zip")
    assert list(out_dir.iterdir()) == []


def test_data_folder_without_metadata_is_a_clear_error(tiny_checkpoints, tmp_path):
    with pytest.raises(GenerationError, match="--data: .*no Data_Entry"):
        _build(tmp_path, tiny_checkpoints, tmp_path / "b.zip")


@pytest.mark.parametrize("text, message", [
    ("pix2pix=a.pt,pix2pix-n=b.pt", None),
    ("pix2pix=a.pt,pix2pix=b.pt", "pix2pix given twice"),
    ("cyclegan=a.pt", "unknown generator 'cyclegan'"),
    ("pix2pix", "expected KIND=PATH"),
])
def test_checkpoint_argument_parsing(text, message):
    if message is None:
        assert set(parse_checkpoint_argument(text)) == {"pix2pix", "pix2pix-n"}
    else:
        with pytest.raises(GenerationError, match=message):
            parse_checkpoint_argument(text)


def test_cli_reports_a_missing_generator_and_exits_non_zero(phantom_dir, tiny_checkpoints, tmp_path, capsys):
    code = main(["verification-set", "--data", str(phantom_dir), "--out", str(tmp_path / "b.zip"),
                 "--checkpoints", f"pix2pix={tiny_checkpoints['pix2pix']},stargan={tiny_checkpoints['stargan']}"])
    assert code == 2 and "missing checkpoint for pix2pix-n" in capsys.readouterr().err
    assert not (tmp_path / "b.zip").exists()


def test_cli_builds_the_set(phantom_dir, tiny_checkpoints, tmp_path, capsys):
    spec = ",".join(f"{kind}={path}" for kind, path in tiny_checkpoints.items())
    code = main(["verification-set", "--data", str(phantom_dir), "--checkpoints", spec, "--out",
                 str(tmp_path / "b.zip"), "--per-cell", "1", "--seed", "3"])
    assert code == 0 and "wrote 24 images" in capsys.readouterr().out
    assert (tmp_path / "b.zip").is_file()
