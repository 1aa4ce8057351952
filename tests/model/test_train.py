"""Tiny synthetic street scenes and configs shared by the training, feature and evaluation tests."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from support.data import BUILDING, CAR, COLOURS, ROAD, SKY, TinyScenes, tiny_scene, write_folder  # noqa: F401

from model import atomic_files
from model.checkpoint import ModelConfig, load_checkpoint
from model.errors import CheckpointError, EditorError
from model.labels import cityscapes
from model.losses import GANLoss, VGG19Features, VGGLoss, feature_matching_loss
from model.train.config import TrainConfig
from model.train.distributed import Dist
from model.train.run_state import SAVES_DIR, STATE_FILE, TRAINING_JSON
from model.train.settings import iter_fields
from model.train.trainer import Trainer

FIELD_PATH = {path.split(".")[1]: path for path, _, _ in iter_fields(TrainConfig)}  # "ngf" → "arch.ngf"


def tiny_config(tmp_path: Path, name: str = "tiny", **overrides) -> TrainConfig:
    values = dict(
        name=name,
        runs_dir=tmp_path,
        netG="global",
        ngf=4,
        n_downsample_global=1,
        n_blocks_global=1,
        n_local_enhancers=1,
        n_blocks_local=1,
        instance_feat=True,
        nef=4,
        n_downsample_E=1,
        ndf=4,
        n_layers_D=2,
        num_d=2,
        flip=False,
        num_workers=0,
        epochs=50,
        decay_epochs=0,
        sample_every=0,
        log_every=1,
        save_every_minutes=1e9,
        threads=None,
    )
    values.update(overrides)
    return TrainConfig().with_values({FIELD_PATH[key]: value for key, value in values.items()})


# ----- tests ------------------------------------------------------------------------------------


def test_gan_losses_and_feature_matching():
    real_scores = [[torch.zeros(1, 2, 3, 3), torch.ones(1, 1, 4, 4)]]
    fake_scores = [[torch.zeros(1, 2, 3, 3), torch.zeros(1, 1, 4, 4)]]
    lsgan, hinge = GANLoss("lsgan"), GANLoss("hinge")
    assert float(lsgan(real_scores, real=True)) == 0.0
    assert float(lsgan(fake_scores, real=True)) == 1.0
    assert float(hinge(real_scores, real=True)) == 0.0
    assert float(hinge(fake_scores, real=False)) == 1.0
    assert float(hinge(real_scores, real=True, for_discriminator=False)) == -1.0
    shifted = [[torch.full((1, 2, 3, 3), 0.5), torch.zeros(1, 1, 4, 4)]]
    # one feature layer before the score map: weight 4/(1) per layer, 1/num_D per scale
    assert float(feature_matching_loss(shifted, fake_scores)) == pytest.approx(4 * 0.5)


def test_vgg_loss_loads_torchvision_layout(tmp_path):
    torch.manual_seed(0)
    reference = VGG19Features()
    state = {k: v for k, v in reference.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # torchvision's classifier keys are ignored
    torch.save(state, tmp_path / "vgg19.pth")
    vgg = VGG19Features.from_file(tmp_path / "vgg19.pth")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert [f.shape[1] for f in vgg(x)] == [64, 128, 256, 512, 512]
    loss = VGGLoss(vgg)
    assert float(loss(x, x)) == 0.0
    assert float(loss(x, -x)) > 0.0


def test_training_decreases_fixed_batch_loss(tmp_path):
    config = tiny_config(tmp_path, lambda_l1=10.0, lr=2e-3, max_steps=12)
    trainer = Trainer(config, TinyScenes(count=1), cityscapes(), Dist())
    batch = TinyScenes(count=1)[0]
    batch = {k: v[None] for k, v in batch.items() if k != "path"}
    losses = [trainer.train_step(batch) for _ in range(12)]
    first = losses[0]["G_L1"] + losses[0]["G_GAN_Feat"]
    last = losses[-1]["G_L1"] + losses[-1]["G_GAN_Feat"]
    assert last < 0.8 * first, (first, last)


def test_code_colour_term_teaches_the_codes_colour(tmp_path):
    batch = TinyScenes(count=1)[0]
    batch = {k: v[None] for k, v in batch.items() if k != "path"}
    trainer = Trainer(
        tiny_config(tmp_path, lambda_l1=1.0, lambda_code_colour=10.0),
        TinyScenes(count=1),
        cityscapes(),
        Dist(),
    )
    assert trainer.code_colour
    errors = [trainer.train_step(batch)["G_code"] for _ in range(20)]
    assert errors[0] > 0 and errors[-1] < 0.9 * errors[0], errors
    off = Trainer(tiny_config(tmp_path, "off", lambda_l1=1.0), TinyScenes(count=1), cityscapes(), Dist())
    assert not off.code_colour and off.train_step(batch)["G_code"] == 0.0


def test_linear_fit_error_is_zero_for_an_affine_relation_and_its_gradient_reaches_the_codes():
    from model.features import linear_fit_error

    codes = torch.randn(40, 3, generator=torch.Generator().manual_seed(0), requires_grad=True)
    colours = codes.detach() @ torch.tensor([[0.5, 0.0, 0.1], [0.0, -0.3, 0.2], [0.1, 0.1, 0.0]]) + 0.2
    assert float(linear_fit_error(codes, colours).detach()) < 1e-3
    noise = torch.rand(40, 3, generator=torch.Generator().manual_seed(1))
    error = linear_fit_error(codes, noise)
    error.backward()
    assert float(error.detach()) > 0.1 and float(codes.grad.abs().sum()) > 0


def test_regression_warm_up_leaves_d_alone(tmp_path):
    """loss.lambda_gan = loss.lambda_feat = 0: G learns from L1 alone and D is neither run nor updated."""
    config = tiny_config(tmp_path, lambda_l1=10.0, lambda_gan=0.0, lambda_feat=0.0, lr=2e-3)
    trainer = Trainer(config, TinyScenes(count=1), cityscapes(), Dist())
    d_before = {k: v.clone() for k, v in trainer.D.state_dict().items()}
    batch = {k: v[None] for k, v in TinyScenes(count=1)[0].items() if k != "path"}
    losses = [trainer.train_step(batch) for _ in range(12)]
    assert losses[-1]["G_L1"] < 0.8 * losses[0]["G_L1"]
    assert all(step["G_GAN"] == step["D_real"] == 0.0 for step in losses)
    for key, value in trainer.D.state_dict().items():
        assert torch.equal(value, d_before[key]), key
    with pytest.raises(EditorError, match="every loss is off"):
        Trainer(
            tiny_config(tmp_path, "none", lambda_gan=0.0, lambda_feat=0.0),
            TinyScenes(1),
            cityscapes(),
            Dist(),
        )


def local_config(tmp_path, name, **overrides):
    return tiny_config(
        tmp_path,
        name,
        netG="local",
        crop_size=(32, 32),
        encoder_downsample=1,
        fix_global_steps=1,
        flip=True,
        **overrides,
    )


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])  # 0.9: the weight average is resumed too
def test_resume_equals_uninterrupted(tmp_path, ema_decay):
    label_set = cityscapes()
    Trainer(
        local_config(tmp_path, "straight", max_steps=2, ema_decay=ema_decay), TinyScenes(3), label_set, Dist()
    ).train()
    Trainer(
        local_config(tmp_path, "resumed", max_steps=1, ema_decay=ema_decay), TinyScenes(3), label_set, Dist()
    ).train()
    resumed = Trainer(
        local_config(tmp_path, "resumed", max_steps=2, ema_decay=ema_decay), TinyScenes(3), label_set, Dist()
    )
    assert resumed.step == 1
    resumed.train()
    a = load_file(str(tmp_path / "straight" / STATE_FILE))
    b = load_file(str(tmp_path / "resumed" / STATE_FILE))
    assert a.keys() == b.keys()
    assert any(k.startswith("optG.") for k in a) and any(k.startswith("D.") for k in a)
    assert any(k.startswith("A.") for k in a) == bool(ema_decay)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6, msg=key)
    assert (tmp_path / "resumed" / "checkpoint" / "config.json").exists()
    assert (tmp_path / "resumed" / "loss_log.csv").exists()


class Killed(BaseException):
    """Stands for SIGKILL at one step of a save: nothing after it runs (no except clause catches it)."""


@pytest.mark.parametrize(
    "kill_at, resumed_step",
    [
        ("commit", 1),  # before the state's commit point: the old state stays whole
        ("renamed", 2),  # after it, with state.safetensors new and state.json old: resuming completes it
    ],
)
def test_a_save_killed_mid_write_resumes_a_whole_state(tmp_path, kill_at, resumed_step):
    label_set = cityscapes()
    Trainer(local_config(tmp_path, "straight", max_steps=2), TinyScenes(3), label_set, Dist()).train()
    Trainer(local_config(tmp_path, "killed", max_steps=1), TinyScenes(3), label_set, Dist()).train()
    run = tmp_path / "killed"
    step_one = load_file(str(run / STATE_FILE))

    def kill(step: str, path: Path) -> None:
        if step == kill_at and path.name.startswith((STATE_FILE, "." + STATE_FILE)):
            raise Killed

    atomic_files.step_hook = kill
    try:
        with pytest.raises(Killed):
            Trainer(local_config(tmp_path, "killed", max_steps=2), TinyScenes(3), label_set, Dist()).train()
    finally:
        atomic_files.step_hook = None
    assert any(p.name.startswith(".") for p in run.iterdir())  # the kill left its staged files
    resumed = Trainer(local_config(tmp_path, "killed", max_steps=2), TinyScenes(3), label_set, Dist())
    assert resumed.step == resumed_step
    expected = load_file(str(tmp_path / "straight" / STATE_FILE)) if resumed_step == 2 else step_one
    state = load_file(str(run / STATE_FILE))
    assert state.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(state[key], expected[key], rtol=0, atol=1e-6, msg=key)
    assert json.loads((run / "checkpoint" / TRAINING_JSON).read_text())["step"] == 2  # exported before
    resumed.train()
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []  # nothing left behind


def test_keep_saves_keeps_every_save_and_the_latest_stays_in_checkpoint(tmp_path):
    label_set = cityscapes()
    for steps in (1, 2):  # two runs of one save each: the second resumes the first
        Trainer(
            local_config(tmp_path, "kept", max_steps=steps, keep_saves=True), TinyScenes(3), label_set, Dist()
        ).train()
    run = tmp_path / "kept"
    kept = sorted(p.name for p in (run / SAVES_DIR).iterdir())
    assert kept == ["step_0000001", "step_0000002"]
    for name, step in zip(kept, (1, 2), strict=True):
        assert json.loads((run / SAVES_DIR / name / TRAINING_JSON).read_text())["step"] == step
        assert load_checkpoint(run / SAVES_DIR / name).config.feat_num == 3
    first, last = (load_file(str(run / SAVES_DIR / name / "generator.safetensors")) for name in kept)
    latest = load_file(str(run / "checkpoint" / "generator.safetensors"))
    assert any(not torch.equal(first[k], last[k]) for k in first)  # a real copy per step
    assert all(torch.equal(latest[k], last[k]) for k in latest)
    Trainer(local_config(tmp_path, "plain", max_steps=1), TinyScenes(3), label_set, Dist()).train()
    assert not (tmp_path / "plain" / SAVES_DIR).exists()  # off by default


def test_weight_average_follows_its_formula_and_is_what_the_run_exports(tmp_path):
    config = tiny_config(tmp_path, "avg", lambda_l1=10.0, lr=2e-3, max_steps=3, ema_decay=0.5)
    trainer = Trainer(config, TinyScenes(count=1), cityscapes(), Dist())
    batch = {k: v[None] for k, v in TinyScenes(count=1)[0].items() if k != "path"}
    name = "generator.model.1.weight"
    average = {name: trainer.stack.state_dict()[name].clone()}
    for step in range(1, 4):
        trainer.train_step(batch)
        rate = 1 - min(0.5, (1 + step) / (10 + step))  # the warm-up rate until the decay takes over
        average[name] += rate * (trainer.stack.state_dict()[name] - average[name])
        torch.testing.assert_close(trainer.average.state_dict()[name], average[name])
    trained = trainer.stack.state_dict()[name]
    assert float((trained - average[name]).abs().max()) > 1e-4  # the average lags the trained weights
    trainer.save()
    exported = load_file(str(tmp_path / "avg" / "checkpoint" / "generator.safetensors"))
    torch.testing.assert_close(exported["model.1.weight"], average[name])
    state = load_file(str(tmp_path / "avg" / STATE_FILE))
    torch.testing.assert_close(state["G." + name], trained)
    torch.testing.assert_close(state["A." + name], average[name])


def test_init_global_copies_global_weights(tmp_path):
    label_set = cityscapes()
    Trainer(tiny_config(tmp_path, "coarse", ngf=8, max_steps=1), TinyScenes(1), label_set, Dist()).train()
    local = Trainer(
        local_config(tmp_path, "fine", max_steps=0, init_global=tmp_path / "coarse"),
        TinyScenes(1),
        label_set,
        Dist(),
    )
    coarse = load_file(str(tmp_path / "coarse" / "checkpoint" / "generator.safetensors"))
    torch.testing.assert_close(local.stack.generator.model[1].weight, coarse["model.1.weight"])


def test_init_global_with_init_weights_keeps_the_enhancer_levels_and_replaces_the_global_part(tmp_path):
    label_set = cityscapes()
    Trainer(tiny_config(tmp_path, "coarse", ngf=8, max_steps=1), TinyScenes(1), label_set, Dist()).train()
    Trainer(local_config(tmp_path, "first", max_steps=1), TinyScenes(1), label_set, Dist()).train()
    both = Trainer(
        local_config(
            tmp_path, "both", max_steps=0, init_weights=tmp_path / "first", init_global=tmp_path / "coarse"
        ),
        TinyScenes(1),
        label_set,
        Dist(),
    )
    coarse = load_file(str(tmp_path / "coarse" / "checkpoint" / "generator.safetensors"))
    first = load_file(str(tmp_path / "first" / "checkpoint" / "generator.safetensors"))
    state = both.stack.generator.state_dict()
    global_keys = [k for k in state if k.startswith("model.")]
    level_keys = [k for k in state if not k.startswith("model.")]
    assert global_keys and level_keys
    for key in global_keys:
        torch.testing.assert_close(state[key], coarse[key], msg=key)
    assert any(not torch.equal(state[k], first[k]) for k in global_keys)  # really replaced
    for key in level_keys:
        torch.testing.assert_close(state[key], first[key], msg=key)
    encoder = load_file(str(tmp_path / "coarse" / "checkpoint" / "encoder.safetensors"))
    torch.testing.assert_close(both.stack.encoder.model[1].weight, encoder["model.1.weight"])


def test_init_weights_continues_g_and_e_and_refuses_another_architecture(tmp_path):
    label_set = cityscapes()
    Trainer(local_config(tmp_path, "first", max_steps=1), TinyScenes(1), label_set, Dist()).train()
    again = Trainer(
        local_config(tmp_path, "again", max_steps=0, init_weights=tmp_path / "first"),
        TinyScenes(1),
        label_set,
        Dist(),
    )
    saved = load_file(str(tmp_path / "first" / "checkpoint" / "generator.safetensors"))
    for key, value in again.stack.generator.state_dict().items():
        torch.testing.assert_close(value, saved[key], msg=key)
    encoder = load_file(str(tmp_path / "first" / "checkpoint" / "encoder.safetensors"))
    torch.testing.assert_close(again.stack.encoder.model[1].weight, encoder["model.1.weight"])
    with pytest.raises(CheckpointError, match="different generator"):
        Trainer(
            local_config(tmp_path, "wider", ngf=8, max_steps=0, init_weights=tmp_path / "first"),
            TinyScenes(1),
            label_set,
            Dist(),
        )


def test_noise_inputs_start_at_zero_weight_keep_d_and_reach_the_render(tmp_path):
    label_set = cityscapes()
    Trainer(local_config(tmp_path, "first", max_steps=2), TinyScenes(1), label_set, Dist()).train()
    noisy = Trainer(
        local_config(
            tmp_path,
            "noisy",
            noise_nc=2,
            max_steps=3,
            init_weights=tmp_path / "first",
            init_discriminator=True,
        ),
        TinyScenes(1),
        label_set,
        Dist(),
    )
    saved = load_file(str(tmp_path / "first" / "checkpoint" / "generator.safetensors"))
    state = noisy.stack.generator.state_dict()
    widened = [key for key in saved if state[key].shape != saved[key].shape]
    assert widened == ["model.1.weight", "model1_1.1.weight"]  # the convs that read G's input
    for key in widened:
        assert torch.equal(state[key][:, :-2], saved[key]) and not state[key][:, -2:].any()
    first_d = load_file(str(tmp_path / "first" / STATE_FILE))
    for key, value in noisy.D.state_dict().items():
        torch.testing.assert_close(value, first_d[f"D.{key}"], msg=key)

    noisy.train()  # the noise weights learn, and the exported model takes noise when rendering
    trained = load_file(str(tmp_path / "noisy" / "checkpoint" / "generator.safetensors"))
    assert trained["model1_1.1.weight"][:, -2:].abs().sum() > 0
    from model.render.full import Renderer  # training itself loads no renderer

    renderer = Renderer(load_checkpoint(tmp_path / "noisy" / "checkpoint"), "cpu")
    assert renderer.noise_nc == 2
    labels, instances = tiny_scene(0)[:2]
    x = renderer.network_input(labels, instances, {})
    assert x.shape[1] == renderer.label_set.num_classes + 1 + 3 + 2
    assert torch.equal(x, renderer.network_input(labels, instances, {}))  # fixed, not drawn per render
    with pytest.raises(EditorError, match="init_discriminator"):
        local_config(tmp_path, "alone", init_discriminator=True).validate()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, root: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        config = local_config(Path(root), "ddp", max_steps=2)
        trainer = Trainer(config, TinyScenes(4), cityscapes(), Dist(rank, world, torch.device("cpu")))
        trainer.train()
        flat = torch.cat(
            [p.detach().flatten() for p in [*trainer.stack.parameters(), *trainer.D.parameters()]]
        )
        torch.save(flat, Path(root) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_two_gloo_processes_agree(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    torch.testing.assert_close(rank0, rank1, rtol=0, atol=1e-6)
    saved = load_file(str(tmp_path / "ddp" / STATE_FILE))
    assert int(json_step(tmp_path / "ddp")) == 2 and len(saved) > 0


def json_step(run_dir: Path) -> int:
    import json

    return json.loads((run_dir / "state.json").read_text())["step"]


def test_train_cli_smoke(tmp_path):
    from cli import run_command

    write_folder(tmp_path / "data", "train", 2)
    code = run_command(
        [
            "train",
            "--data",
            str(tmp_path / "data"),
            "--name",
            "cli",
            "--runs",
            str(tmp_path / "runs"),
            *sets(
                "arch.ngf=4",
                "arch.n_downsample_global=1",
                "arch.n_blocks_global=1",
                "arch.ndf=4",
                "arch.num_d=1",
                "arch.instance_feat=true",
                "arch.nef=4",
                "arch.n_downsample_E=1",
                "data.num_workers=0",
                "run.sample_every=1",
                "loss.lambda_l1=1",
            ),
            "--max-steps",
            "2",
        ]
    )
    assert code == 0
    run = tmp_path / "runs" / "cli"
    assert (run / "samples" / "latest.png").exists()
    assert (run / "checkpoint" / "encoder.safetensors").exists()
    assert load_checkpoint(run / "checkpoint").config.train_size == (64, 32)


def sets(*assignments: str) -> list[str]:
    return [arg for text in assignments for arg in ("--set", text)]


@pytest.mark.parametrize(
    "options, message",
    [
        (sets("arch.n_downsample_global=6"), "multiple of"),  # a size the network cannot take
        (sets("loss.lambda_code_colour=1"), "arch.instance_feat"),  # the code-colour term needs E
        (sets("loss.lambda_l1=1", "schedule.ema_decay=1"), "must be in [0, 1)"),
    ],
)
def test_train_cli_rejects_bad_options_in_one_line(tmp_path, capsys, options, message):
    from cli import run_command

    write_folder(tmp_path / "data", "train", 1)
    code = run_command(
        [
            "train",
            "--data",
            str(tmp_path / "data"),
            "--name",
            "x",
            "--runs",
            str(tmp_path),
            *options,
            "--max-steps",
            "1",
        ]
    )
    assert code == 2
    assert message in capsys.readouterr().err


def test_input_pyramid_level_equals_pooling_the_full_input():
    from model.encoding import generator_input
    from model.input_pyramid import InputPyramid
    from model.networks.generator import downsample_input

    gen = torch.Generator().manual_seed(3)
    labels = torch.randint(0, 6, (2, 1, 32, 48), generator=gen)
    labels[:, :, :, :10] = 9  # a class present in a band; classes 6..8 and 10..11 absent
    instances = labels * 1000 + torch.randint(0, 2, labels.shape, generator=gen)
    features = torch.randn(2, 3, 32, 48, generator=gen, requires_grad=True)
    full = generator_input(labels, instances, 12, features)
    for _ in range(2):
        full = downsample_input(full)
    pooled = InputPyramid(labels, instances, 12, features, True, 2).level(2)
    assert pooled.shape == full.shape == (2, 16, 8, 12)
    assert torch.allclose(pooled, full, atol=1e-6)
    pooled[:, 13:].sum().backward()  # gradient still reaches the features
    assert features.grad is not None and features.grad.abs().sum() > 0


def test_cropped_enhancer_forward_equals_the_naive_pyramid():
    """The cheap pyramid gives the enhancer exactly the inputs of pooling the full input and cropping."""
    from model.encoding import generator_input
    from model.input_pyramid import InputPyramid, crop
    from model.networks.generator import LocalEnhancer, downsample_input
    from model.train.stack import enhancer_forward_cropped

    torch.manual_seed(0)
    g = LocalEnhancer(
        12 + 1 + 3, ngf=4, n_downsample_global=2, n_blocks_global=1, n_local_enhancers=2, n_blocks_local=1
    ).eval()
    labels = torch.randint(0, 5, (1, 64, 96))
    features = torch.randn(1, 3, 64, 96)
    box = (32, 16, 32, 48)  # x0, y0, width, height: multiples of 2^levels
    naive = [generator_input(labels, labels, 12, features)]
    for _ in range(2):
        naive.append(downsample_input(naive[-1]))
    with torch.no_grad():
        out = crop(g.model(naive[2]), box, 2)
        for level in (1, 2):
            front, back = g.enhancer(level)
            out = back(front(crop(naive[2 - level], box, 2 - level)) + out)
        cropped = enhancer_forward_cropped(g, InputPyramid(labels, labels, 12, features, True, 2), box)
    assert torch.allclose(cropped, out, atol=1e-6)


# ----- config, recipes, old runs ----------------------------------------------------------------
def test_legacy_training_json_converts_and_equals_step_2c_recipe():
    """The former default's flat training.json loads, and recipes/default/2c reproduces it."""
    from support import REPO_ROOT

    from model.train.legacy import convert_training_json

    old = json.loads((REPO_ROOT / "tests/support/legacy_default/training.json").read_text())
    converted = TrainConfig.from_json(old["train"])
    assert converted.arch.encoder_downsample == old["encoder_downsample"] == 2
    assert converted.schedule.fix_global_steps == 980 and converted.data.crop_size == (256, 1024)
    recipe = TrainConfig.from_recipe(REPO_ROOT / "recipes/default/2c_constant_rate.toml")
    assert recipe.with_values({"data.root": "none"}) == converted
    record = convert_training_json(old)
    assert record["step"] == 1553 and TrainConfig.from_json(record["train"]) == converted
    assert convert_training_json(record) == record  # the new format passes through


def test_bundled_training_json_equals_the_last_default_v2_recipe():
    """checkpoints/default was trained by recipes/default_v2; its training.json is step 2b's recipe."""
    from support import REPO_ROOT

    bundled = json.loads((REPO_ROOT / "checkpoints/default/training.json").read_text())
    recipe = TrainConfig.from_recipe(REPO_ROOT / "recipes/default_v2/2b_local_all.toml")
    assert TrainConfig.from_json(bundled["train"]) == recipe
    assert bundled["step"] == 2800


def test_every_recipe_loads_and_validates():
    from support import REPO_ROOT

    recipes = sorted((REPO_ROOT / "recipes").rglob("*.toml"))
    assert len(recipes) >= 5
    for path in recipes:
        config = TrainConfig.from_recipe(path).with_values({"run.name": "x"})
        config.validate()
        assert TrainConfig.from_json(config.to_json()) == config  # saved and read back unchanged


def test_old_flat_config_with_a_retired_experiment_warns(caplog):
    flat = {
        "name": "old",
        "ngf": 8,
        "l1_class_balance": 0.5,
        "fix_global_epochs": 0,
        "fix_global_steps": None,
        "crop_size": [64, 32],
        "init_global": "runs/g",
    }
    config = TrainConfig.from_json(flat)
    assert config.run.name == "old" and config.arch.ngf == 8 and config.schedule.fix_global_steps == 0
    assert config.data.crop_size == (64, 32) and config.schedule.init_global == Path("runs/g")
    assert "l1_class_balance" in caplog.text


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("arch.ngff=4", "did you mean ngf"),
        ("archs.ngf=4", "did you mean arch"),
        ("arch.ngf=four", "arch.ngf"),
        ("arch.netG=tiny", "must be one of global, local"),
        ("schedule.lr=-1", "must be positive"),
        ("ngf=4", "SECTION.KEY=VALUE"),
    ],
)
def test_set_rejects_bad_fields_in_one_line(tmp_path, capsys, assignment, message):
    from cli import run_command

    code = run_command(["train", "--data", str(tmp_path), "--name", "x", "--set", assignment])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_recipe_errors_name_the_file(tmp_path, capsys):
    from cli import run_command

    bad = tmp_path / "bad.toml"
    bad.write_text("[arch]\nngf = 'wide'\n")
    assert run_command(["train", "--recipe", str(bad), "--name", "x"]) == 2
    assert str(bad) in capsys.readouterr().err


def test_list_fields_shows_every_field_once(capsys):
    from cli import run_command

    assert run_command(["train", "--list-fields"]) == 0
    out = capsys.readouterr().out
    paths = [path for path, _, _ in iter_fields(TrainConfig)]
    assert all(out.count(f"{path} ") == 1 for path in paths)


def test_tiny_recipe_trains_saves_and_resumes_from_the_command_line(tmp_path):
    from support import REPO_ROOT

    from cli import run_command

    write_folder(tmp_path / "data", "train", 2, height=32, width=64)
    common = [
        "train",
        "--recipe",
        str(REPO_ROOT / "recipes/tiny.toml"),
        "--data",
        str(tmp_path / "data"),
        "--name",
        "tiny",
        "--runs",
        str(tmp_path / "runs"),
    ]
    assert run_command([*common, "--max-steps", "1"]) == 0
    run = tmp_path / "runs" / "tiny"
    assert json_step(run) == 1
    assert run_command([*common, "--max-steps", "3"]) == 0
    assert json_step(run) == 3
    record = json.loads((run / "checkpoint" / TRAINING_JSON).read_text())
    assert record["step"] == 3 and record["train"]["arch"]["netG"] == "local"
    model = load_checkpoint(run / "checkpoint")
    assert model.config.encoder is not None and model.config.encoder.encoder_downsample == 1
    rows = (run / "loss_log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "2", "3"]


def test_encoder_downsample_comes_from_config_json_or_an_old_training_json(tmp_path):
    from support import REPO_ROOT

    from cli.encode_features import encoder_downsample_of
    from model.checkpoint import make_random_checkpoint

    legacy = REPO_ROOT / "tests/support/legacy_default"
    config_json = legacy / "config.json"
    legacy_config = ModelConfig.from_json(json.loads(config_json.read_text()), config_json)
    assert legacy_config.encoder is not None
    assert legacy_config.encoder.encoder_downsample == 0  # its config.json predates the field
    assert encoder_downsample_of(legacy, legacy_config.encoder) == 2
    folder = make_random_checkpoint(tmp_path / "new", with_features=True, tiny=True)
    config = json.loads((folder / "config.json").read_text())
    config["encoder"]["encoder_downsample"] = 3
    (folder / "config.json").write_text(json.dumps(config))
    (folder / TRAINING_JSON).write_text(json.dumps({"encoder_downsample": 1}))  # ignored: config.json says
    loaded = load_checkpoint(folder)
    assert loaded.config.encoder.encoder_downsample == 3
    assert encoder_downsample_of(folder, loaded.config.encoder) == 3


def test_training_loads_no_renderer_and_encode_features_no_trainer():
    """Training sits beside the renderer, not on top of it; encode-features needs no trainer."""
    import subprocess
    import sys

    code = (
        "import sys, model.train.trainer, cli.train\n"
        "print(sorted(m for m in sys.modules if m.startswith('model.render')))\n"
        "for m in [m for m in sys.modules if m.startswith(('model.train', 'cli.train'))]:\n"
        "    del sys.modules[m]\n"
        "import cli.encode_features, cli.fit_encoder\n"
        "print(sorted(m for m in sys.modules if m.startswith('model.train')))\n"
    )
    from support import REPO_ROOT

    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.splitlines() == ["[]", "[]"], out.stdout + out.stderr
