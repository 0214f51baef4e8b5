"""What every diffusers adapter shares: loading (local directory, once per process, dtypes),
offload / VAE / LoRA switches reaching the pipeline, sizes, and the CLI's early errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from spiral.errors import BackendError, ConfigError
from spiral.generators.diffusers import ADAPTERS
from spiral.generators.diffusers.base import cached_pipelines, clear_pipeline_cache
from spiral.generators.diffusers.testing import FAMILIES, TINY_OPTIONS, dummy_generator, dummy_pipeline
from spiral.registry import available, load_class

from . import helpers as h


class Calls:
    """Records calls to a pipeline method that cannot run here (no GPU)."""

    def __init__(self):
        self.calls: list[tuple[tuple, dict]] = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))


def test_every_family_is_registered():
    assert set(FAMILIES) == set(ADAPTERS)
    for name, target in ADAPTERS.items():
        assert available("generator")[name] == target
        cls = load_class("generator", name)
        assert cls.name == name and issubclass(cls.Config, object)


def test_adapter_modules_do_not_import_torch():
    code = ("import sys\nfrom spiral.registry import load_class\n"
            f"for n in {list(ADAPTERS)!r}:\n    c = load_class('generator', n); c(device='cpu')\n"
            "from spiral.config import build_config\n"
            "cfg = build_config(overrides={'goal': 'stack all the cubes', 'generator': {'name': 'wan2.1-i2v'}},"
            " sets=['loop.frames_per_segment=13'])\n"
            "from spiral.api import build_components\nbuild_components(cfg)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'diffusers', 'transformers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("mode,method", [("model", "enable_model_cpu_offload"),
                                         ("sequential", "enable_sequential_cpu_offload")])
def test_offload_reaches_the_pipeline(mode, method, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # two GPUs, as far as the check can tell
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    cls = load_class("generator", "wan2.2-ti2v-5b")
    pipe = dummy_pipeline("wan2.2-ti2v-5b")
    spy, moved = Calls(), Calls()
    setattr(pipe, method, spy)
    pipe.to = moved  # offload places sub-models itself: the pipeline is not moved
    gen = cls(pipeline=pipe, config=cls.Config(device="cuda:1", offload=mode, steps=2, **TINY_OPTIONS[cls.name]))
    clip = gen.generate([h.request(seed=1)])[0]  # runs on the CPU: the spy did not move anything
    assert spy.calls == [((), {"device": "cuda:1"})] and moved.calls == []
    assert clip.frames.shape == (9, 64, 64, 3)
    gen.generate([h.request(seed=2)])
    assert len(spy.calls) == 1  # applied once


def test_offload_on_cpu_is_a_config_error():
    gen = dummy_generator("ltx-video-i2v", offload="model", device="cpu")
    with pytest.raises(ConfigError, match="offload"):
        gen.generate([h.request()])


@pytest.mark.parametrize("options,message", [
    ({"device": "cuda"}, "this torch sees no CUDA device"),
    ({"device": "cuda:0", "offload": "model"}, "this torch sees no CUDA device"),
    ({"device": "auto", "offload": "sequential"}, "offload=sequential moves sub-models to an accelerator"),
])
def test_a_device_this_machine_lacks_is_refused_before_any_weights_load(options, message, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cls = load_class("generator", "wan2.1-i2v")
    loads = Calls()
    monkeypatch.setattr(cls, "load_pipeline", loads)
    with pytest.raises(ConfigError, match=message):
        cls.from_config(cls.Config(model="/nowhere/wan", **options))
    gen = cls(config=cls.Config(model="/nowhere/wan", **options))  # built without the check: loading checks
    with pytest.raises(ConfigError, match=message):
        _ = gen.pipeline
    assert loads.calls == []


@pytest.mark.parametrize("name", ["wan2.1-i2v", "cogvideox-i2v", "ltx-video-i2v", "hunyuanvideo-i2v", "svd"])
def test_vae_tiling_and_slicing_reach_the_vae(name):
    if name == "svd":  # the temporal decoder has neither: refused when the adapter is built
        for flag in ("vae_tiling", "vae_slicing"):
            with pytest.raises(ConfigError, match=flag) as e:
                dummy_generator(name, **{flag: True})
            assert "decode_chunk_size" in e.value.hint
        return
    gen = dummy_generator(name, vae_tiling=True, vae_slicing=True)
    vae = gen.pipeline.vae
    gen.generate([h.request(seed=1)])
    assert vae.use_tiling is True and vae.use_slicing is True
    off = type(gen)(pipeline=gen.pipeline, config=gen.cfg.model_copy(update={"vae_tiling": False,
                                                                             "vae_slicing": False}))
    off.generate([h.request(seed=1)])
    assert vae.use_tiling is False and vae.use_slicing is False


def test_lora_is_loaded_and_scaled(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline, so a LoRA given as a Hub id is looked up locally only
    pipe = dummy_pipeline("cogvideox-i2v")
    load, adapters = Calls(), Calls()
    pipe.load_lora_weights, pipe.set_adapters = load, adapters
    gen = dummy_generator("cogvideox-i2v")
    gen = type(gen)(pipeline=pipe, config=gen.cfg.model_copy(update={
        "lora": "/loras/grpo-step-100", "lora_weight_name": "adapter.safetensors", "lora_scale": 0.7}))
    gen.generate([h.request(seed=1)])
    assert load.calls == [(("/loras/grpo-step-100",), {"adapter_name": "spiral", "local_files_only": True,
                                                       "weight_name": "adapter.safetensors"})]
    assert adapters.calls == [((["spiral"],), {"adapter_weights": [0.7]})]


def test_wan22_a14b_second_lora_goes_to_the_low_noise_expert(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # online: the loader gets no offline flag
    pipe = dummy_pipeline("wan2.2-i2v-a14b")
    load, adapters = Calls(), Calls()
    pipe.load_lora_weights, pipe.set_adapters = load, adapters
    cls = load_class("generator", "wan2.2-i2v-a14b")
    gen = cls(pipeline=pipe, config=cls.Config(lora="hi.safetensors", lora_2="lo.safetensors", lora_scale=0.5,
                                               steps=2, device="cpu", dtype="fp32", max_sequence_length=16))
    gen.generate([h.request(seed=1)])
    assert load.calls[1] == (("lo.safetensors",), {"adapter_name": "spiral_2", "load_into_transformer_2": True})
    assert adapters.calls == [((["spiral", "spiral_2"],), {"adapter_weights": [0.5, 0.5]})]


def test_wan22_a14b_second_lora_alone_is_loaded_and_a_bad_one_is_a_clear_error(monkeypatch):
    cls = load_class("generator", "wan2.2-i2v-a14b")
    opts = {"steps": 2, "device": "cpu", "dtype": "fp32", "max_sequence_length": 16}
    pipe = dummy_pipeline("wan2.2-i2v-a14b")
    load, adapters = Calls(), Calls()
    pipe.load_lora_weights, pipe.set_adapters = load, adapters
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cls(pipeline=pipe, config=cls.Config(lora_2="some-org/lo-lora", **opts)).generate([h.request(seed=1)])
    assert load.calls == [(("some-org/lo-lora",), {"adapter_name": "spiral_2", "local_files_only": True,
                                                   "load_into_transformer_2": True})]
    assert adapters.calls == [((["spiral_2"],), {"adapter_weights": [1.0]})]

    def refuse(*a, **k):
        raise ValueError("When using the offline mode, you must specify a weight_name")

    pipe = dummy_pipeline("wan2.2-i2v-a14b")
    pipe.load_lora_weights, pipe.set_adapters = refuse, Calls()
    with pytest.raises(BackendError, match=r"could not load LoRA 'lo' \(generator.lora_2\)"):
        cls(pipeline=pipe, config=cls.Config(lora_2="lo", **opts)).generate([h.request(seed=1)])


def test_wan22_a14b_expert_switches_reach_the_pipeline():
    pipe = dummy_pipeline("wan2.2-i2v-a14b")
    seen = {}
    real = type(pipe).__call__

    def spy(self, **kw):
        seen.update(kw)
        return real(self, **kw)

    gen = dummy_generator("wan2.2-i2v-a14b", boundary_ratio=0.5, guidance_2=2.0)
    gen = type(gen)(pipeline=pipe, config=gen.cfg)
    type(pipe).__call__ = spy
    try:
        gen.generate([h.request(seed=1)])
    finally:
        type(pipe).__call__ = real
    assert pipe.config.boundary_ratio == 0.5 and seen["guidance_scale_2"] == 2.0


def test_model_size_generates_there_and_resizes_to_the_request():
    gen = dummy_generator("ltx-video-i2v", model_size=(96, 128))
    clip = gen.generate([h.request(seed=1, size=64)])[0]
    assert clip.frames.shape == (9, 64, 64, 3) and clip.meta["generation_size"] == [96, 128]
    with pytest.raises(ConfigError, match="multiple of 32"):
        dummy_generator("ltx-video-i2v", model_size=(100, 128))


def test_pin_first_frame_and_hunyuan_first_frame():
    cond = h.cond_frame(64, seed=3)
    pinned = dummy_generator("wan2.2-ti2v-5b", pin_first_frame=True).generate([h.request(seed=1, cond=cond)])[0]
    np.testing.assert_array_equal(pinned.frames[0], cond)
    # HunyuanVideo-I2V (image concatenation) drops its first latent frame: the adapter asks
    # for 4 more frames and starts the clip at the conditioning frame
    hy = dummy_generator("hunyuanvideo-i2v").generate([h.request(seed=1, cond=cond, num_frames=13)])[0]
    assert hy.frames.shape[0] == 13
    np.testing.assert_array_equal(hy.frames[0], cond)


def test_cogvideox_1_0_has_one_size():
    cls = load_class("generator", "cogvideox-i2v")
    gen = cls(model="THUDM/CogVideoX-5b-I2V")
    with pytest.raises(BackendError) as e:
        gen.generate([h.request()])
    assert "480x720" in e.value.message and "generator.model_size=[480, 720]" in e.value.hint
    # with model_size the clip is generated at 480x720 and resized (checked before loading)
    assert cls(model="THUDM/CogVideoX-5b-I2V", model_size=(480, 720)).constraint_errors(49, 64, 64) == []


@pytest.mark.parametrize("name", ["wan2.2-ti2v-5b", "hunyuanvideo-i2v"])
def test_loads_from_a_local_directory_once_per_process(name, tmp_path):
    """``generator.model=/path`` with HF_HUB_OFFLINE=1 (tests set it): a saved tiny pipeline
    loads through the registry, once for every generator built on the same model."""
    from spiral.config import build_config
    from spiral.registry import build

    path = tmp_path / "model"
    dummy_pipeline(name).save_pretrained(path)
    clear_pipeline_cache()
    opts = {"name": name, "model": str(path), "dtype": "fp32", "vae_dtype": None, "device": "cpu", "steps": 2,
            **TINY_OPTIONS[name]}
    cfg = build_config(overrides={"goal": "stack all the cubes", "scene": {"seed": 5}, "generator": opts},
                       sets=["loop.frames_per_segment=9"])
    a = build("generator", cfg.generator, config=cfg)
    b = build("generator", cfg.generator, config=cfg)
    assert a._pipe is None  # nothing loads until the first generation
    ca = a.generate([h.request(seed=5)])[0]
    cb = b.generate([h.request(seed=5)])[0]
    assert a.pipeline is b.pipeline and cached_pipelines() == 1
    assert a.stats["loads"] + b.stats["loads"] == 1
    np.testing.assert_array_equal(ca.frames, cb.frames)
    assert ca.meta["model"] == str(path)
    # the same weights give the same clip as the injected pipeline they were saved from
    ref = dummy_generator(name).generate([h.request(seed=5)])[0]
    assert np.abs(ref.frames.astype(int) - ca.frames.astype(int)).max() <= 2
    clear_pipeline_cache()


def test_wan21_loads_vae_and_image_encoder_in_fp32(tmp_path):
    import torch

    path = tmp_path / "wan21"
    dummy_pipeline("wan2.1-i2v").save_pretrained(path)
    cls = load_class("generator", "wan2.1-i2v")
    gen = cls(model=str(path), dtype="bf16", device="cpu", steps=2, max_sequence_length=16)
    pipe = gen.pipeline
    assert pipe.transformer.dtype == torch.bfloat16
    assert pipe.vae.dtype == torch.float32 and pipe.image_encoder.dtype == torch.float32
    clear_pipeline_cache()


def test_a_missing_model_is_a_clear_error(tmp_path):
    cls = load_class("generator", "ltx-video-i2v")
    gen = cls(model=str(tmp_path / "nothing-here"), device="cpu")
    with pytest.raises(BackendError) as e:
        gen.generate([h.request(seed=1)])
    assert "generator.model" in e.value.hint


def test_cli_refuses_the_default_frame_count_before_writing(tmp_path):
    out = tmp_path / "run"
    p = subprocess.run([sys.executable, "-m", "spiral.cli.main", "run", "stack all the cubes", "--generator",
                        "wan2.2-ti2v-5b", "--out", str(out)], capture_output=True, text=True,
                       check=False)
    assert p.returncode == 2, p.stderr
    err = " ".join(p.stderr.split())
    assert "4k+1" in err and "loop.frames_per_segment=13" in err
    assert not out.exists()


def test_config_lists_the_backend_options():
    from typer.testing import CliRunner

    from spiral.cli.main import app

    r = CliRunner().invoke(app, ["config", "--generator", "wan2.2-i2v-a14b"])
    assert r.exit_code == 0, r.output
    for key in ("model", "boundary_ratio", "guidance_2", "offload", "vae_tiling", "lora", "lora_2"):
        assert key in r.output


def test_a_real_lora_file_loads_and_scales(tmp_path):
    """The path GRPO will use: LoRA weights saved in diffusers' format load into the adapter's
    pipeline; scale 0 gives the base model's clip, scale 1 another one."""
    pytest.importorskip("peft")
    from diffusers import WanImageToVideoPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    trained = dummy_pipeline("wan2.2-ti2v-5b").transformer
    trained.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"],
                                   init_lora_weights=False))  # random, non-zero LoRA weights
    WanImageToVideoPipeline.save_lora_weights(tmp_path / "lora",
                                              transformer_lora_layers=get_peft_model_state_dict(trained))
    base = dummy_generator("wan2.2-ti2v-5b").generate([h.request(seed=1)])[0].frames
    lora = dummy_generator("wan2.2-ti2v-5b", lora=str(tmp_path / "lora"), lora_scale=1.0)
    on = lora.generate([h.request(seed=1)])[0].frames
    off = dummy_generator("wan2.2-ti2v-5b", lora=str(tmp_path / "lora"),
                          lora_scale=0.0).generate([h.request(seed=1)])[0].frames
    assert lora.pipeline.get_active_adapters() == ["spiral"]
    assert np.abs(on.astype(int) - base.astype(int)).mean() > 0.5
    np.testing.assert_array_equal(off, base)


@pytest.mark.parametrize("family", ["wan2.1-i2v", "ltx-video-i2v"])
def test_guidance_one_runs_one_pass_and_above_one_two(family):
    """Classifier-free guidance only above 1.0: one transformer pass per step at 1.0 (as the
    pipelines do), two above it; what the clip's nfe reports, and what the prompt cache keys."""
    gen = dummy_generator(family)
    calls = {"n": 0}
    pipe = gen.pipeline
    model = getattr(pipe, "transformer", None)
    real = model.forward

    def counting(*args, **kwargs):  # rows through the transformer: a CFG pass doubles them
        x = kwargs.get("hidden_states", args[0] if args else None)
        calls["n"] += int(x.shape[0])
        return real(*args, **kwargs)

    model.forward = counting
    try:
        one = gen.generate([h.request(guidance=1.0, steps=2)])[0]
        n_one, calls["n"] = calls["n"], 0
        two = gen.generate([h.request(guidance=5.0, steps=2)])[0]
        n_two = calls["n"]
    finally:
        model.forward = real
    assert one.meta["nfe"] == 2 and two.meta["nfe"] == 4
    assert n_two == 2 * n_one  # a second pass (batched or sequential) only with guidance
    assert not gen.uses_cfg(1.0) and gen.uses_cfg(5.0)
