import pickle

import numpy as np
import pytest
import torch
from support import REPO_ROOT

from model.checkpoint import (
    ModelConfig,
    infer_official_encoder,
    infer_official_generator,
    load_checkpoint,
    make_random_checkpoint,
)
from model.errors import CheckpointError
from model.labels import LabelSet, cityscapes
from model.networks import FeatureEncoder, GeneratorConfig, build_generator
from model.official_pickle import read_official_features


def test_native_round_trip(tmp_path):
    folder = make_random_checkpoint(tmp_path / "ck", seed=3)
    model = load_checkpoint(folder)
    again = load_checkpoint(folder)
    for (k, a), (_, b) in zip(
        model.generator.state_dict().items(), again.generator.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k
    assert model.config.feat_num == 3 and model.encoder is not None
    assert model.clusters[26].shape == (4, 3)
    assert model.config.label_set == cityscapes()


def test_truncated_weights_give_one_line(tmp_path):
    folder = make_random_checkpoint(tmp_path / "ck")
    weights = folder / "generator.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="generator.safetensors.*truncated or corrupt") as info:
        load_checkpoint(folder)
    assert "\n" not in str(info.value)


def test_missing_files(tmp_path):
    folder = make_random_checkpoint(tmp_path / "ck")
    (folder / "generator.safetensors").unlink()
    with pytest.raises(CheckpointError, match="weights file not found"):
        load_checkpoint(folder)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="neither config.json nor latest_net_G.pth"):
        load_checkpoint(tmp_path / "empty")


def test_wrong_label_set(tmp_path):
    folder = make_random_checkpoint(tmp_path / "ck")
    other = LabelSet.from_json(
        {
            "name": "two",
            "labels": [
                {"id": 0, "name": "a", "color": [0, 0, 0]},
                {"id": 1, "name": "b", "color": [9, 9, 9]},
            ],
        }
    )
    with pytest.raises(CheckpointError, match="not 'two'"):
        load_checkpoint(folder, other)
    with pytest.raises(CheckpointError, match="39 input channels.*'two'"):
        ModelConfig(GeneratorConfig(input_nc=39), other, feat_num=3)


@pytest.mark.parametrize(
    "cfg",
    [
        GeneratorConfig(36, ngf=8, n_downsample_global=3, n_blocks_global=2),
        GeneratorConfig(
            36, ngf=4, n_downsample_global=2, n_blocks_global=1, n_local_enhancers=1, n_blocks_local=2
        ),
        GeneratorConfig(
            39, ngf=4, n_downsample_global=3, n_blocks_global=3, n_local_enhancers=2, n_blocks_local=1
        ),
    ],
)
def test_architecture_is_inferred_from_official_weights(cfg):
    assert infer_official_generator(build_generator(cfg).state_dict()) == cfg


def test_encoder_architecture_is_inferred():
    enc = FeatureEncoder(input_nc=3, feat_num=3, nef=16, n_downsampling=4)
    cfg = infer_official_encoder(enc.state_dict())
    assert (cfg.input_nc, cfg.feat_num, cfg.nef, cfg.n_downsampling) == (3, 3, 16, 4)


def test_official_pth_with_bad_content(tmp_path):
    path = tmp_path / "latest_net_G.pth"
    path.write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="latest_net_G.pth"):
        load_checkpoint(path)
    torch.save({"model.1.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(CheckpointError, match="not a pix2pixHD generator"):
        load_checkpoint(path)


class _Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/p2p_exploit_marker",))


def test_official_pth_that_runs_code_is_refused(tmp_path):
    marker = "/tmp/p2p_exploit_marker"
    import os

    if os.path.exists(marker):
        os.unlink(marker)
    path = tmp_path / "latest_net_G.pth"
    torch.save({"model.1.weight": torch.zeros(1), "x": _Exploit()}, path)
    with pytest.raises(CheckpointError, match="weights-only"):
        load_checkpoint(path)
    assert not os.path.exists(marker)


def test_official_features_file_is_read_without_pickle_execution(tmp_path):
    centres = {26: np.arange(6, dtype=np.float64).reshape(2, 3), 11: np.ones((3, 3)), 7: np.zeros((0, 3))}
    path = tmp_path / "features_clustered_010.npy"
    np.save(path, centres, allow_pickle=True)
    loaded = read_official_features(path)
    assert set(loaded) == {26, 11}
    assert np.array_equal(loaded[26], centres[26].astype(np.float32))


def test_crafted_features_pickle_is_refused_and_nothing_runs(tmp_path):
    import os

    marker = "/tmp/p2p_exploit_marker"
    if os.path.exists(marker):
        os.unlink(marker)
    path = tmp_path / "features_clustered_010.npy"
    header = {"descr": "|O", "fortran_order": False, "shape": ()}
    with path.open("wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        pickle.dump(_Exploit(), handle, protocol=2)
    with pytest.raises(CheckpointError, match="refused to load 'posix.system'|refused to load 'os.system'"):
        read_official_features(path)
    assert not os.path.exists(marker)


def test_default_generator_config_describes_the_bundled_checkpoint():
    """bench and export-onnx fall back to default_generator_config() without a checkpoint; it must
    stay the architecture of checkpoints/default (session 11 changed the bundled width)."""
    import json

    from model.render.random_models import default_generator_config

    folder = REPO_ROOT / "checkpoints" / "default"
    bundled = ModelConfig.from_json(json.loads((folder / "config.json").read_text()), folder)
    assert bundled.generator == default_generator_config()
