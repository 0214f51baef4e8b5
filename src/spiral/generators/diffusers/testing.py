"""Tiny random-weight components for every diffusers family: tests without downloads.

Each builder returns the keyword arguments of the family's diffusers pipeline class, made
from small configs with random weights (a few hundred kB in all), so a pipeline builds and
generates on a CPU in well under a second with ``HF_HUB_OFFLINE=1``. The configs follow
diffusers' own pipeline tests (``tests/pipelines/<family>/test_*.py``,
``get_dummy_components``), except that the text encoders are random T5/UMT5/CLIP/Llama
configs and the tokenizers are built in memory (a word-level vocabulary wrapped in
``PreTrainedTokenizerFast``): nothing is fetched from the Hub.

The tiny models accept the loop's frame size (64 by default; any multiple of the family's
size rule) and its 4k+1 / 8k+1 frame counts, like the real ones.

>>> from spiral.generators.diffusers.testing import dummy_generator
>>> gen = dummy_generator("wan2.1-i2v")            # the adapter, on a tiny random pipeline
>>> clips = gen.generate([request])                 # doctest: +SKIP

Users can build their own backend's tests on these (``dummy_components(name)`` gives the
components, ``dummy_pipeline(name)`` the pipeline, ``dummy_generator(name)`` the adapter).
"""

from __future__ import annotations

from typing import Any

from spiral.generators.diffusers import ADAPTERS

FAMILIES = tuple(ADAPTERS)  # every adapter has tiny components below (a test checks they agree)

# words of the tabletop prompts, so different sub-actions give different token ids
_WORDS = ["the", "put", "stack", "move", "push", "place", "swap", "in", "on", "into", "onto", "next", "to", "of", "and", "a", "it", "left", "right", "back", "front", "side", "table", "half", "corner", "cube", "ball", "bowl", "block", "sphere", "red", "green", "blue", "yellow", "purple", "orange", "white", "black", "top", "pick", "up", "slide", "drop", "beside", "near", "toward", "forward", "backward", "away", "camera", "object", "still", "blurry", "melting"]

#: Prompt template for the tiny HunyuanVideo text encoder (the real one is a chat template for
#: a Llava model with 576 image tokens; the tiny one has 49).
HUNYUAN_TINY_PROMPT_TEMPLATE = {"template": "{}", "crop_start": 0, "image_emb_len": 49, "image_emb_start": 5,
                                "image_emb_end": 54}


def word_tokenizer(vocab_size: int = 64, *, pad_id: int = 0, model_max_length: int = 512) -> Any:
    """An in-memory word-level tokenizer (``PreTrainedTokenizerFast``) with ids below ``vocab_size``.

    Special tokens: ``<pad>`` (``pad_id``), ``</s>`` (eos) and ``<unk>``; the rest are
    tabletop words, unknown words map to ``<unk>``.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>"]
    ids = [i for i in range(vocab_size) if i != pad_id]
    vocab = {"<pad>": pad_id}
    for tok, i in zip(specials[1:] + list(_WORDS), ids):
        vocab[tok] = i
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=model_max_length)


def _t5(kind: str = "t5", vocab_size: int = 64) -> Any:
    from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

    cfg_cls, model_cls = (UMT5Config, UMT5EncoderModel) if kind == "umt5" else (T5Config, T5EncoderModel)
    cfg = cfg_cls(vocab_size=vocab_size, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                  relative_attention_num_buckets=8, dropout_rate=0.0, pad_token_id=0, eos_token_id=1,
                  decoder_start_token_id=0)
    return model_cls(cfg).eval()


def _seed(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


# -- Wan ---------------------------------------------------------------------------------------
def _wan_vae(z_dim: int = 16, five_b: bool = False) -> Any:
    from diffusers import AutoencoderKLWan

    if five_b:  # Wan 2.2 TI2V-5B: 48 latent channels, 16x spatial compression (patchified VAE)
        return AutoencoderKLWan(base_dim=3, z_dim=48, in_channels=12, out_channels=12, is_residual=True,
                                patch_size=2, latents_mean=[0.0] * 48, latents_std=[1.0] * 48,
                                dim_mult=[1, 1, 1, 1], num_res_blocks=1, scale_factor_spatial=16,
                                scale_factor_temporal=4, temperal_downsample=[False, True, True]).eval()
    return AutoencoderKLWan(base_dim=3, z_dim=z_dim, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True]).eval()


def _wan_transformer(in_channels: int = 36, out_channels: int = 16, image_dim: int | None = None) -> Any:
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
                                 in_channels=in_channels, out_channels=out_channels, text_dim=32, freq_dim=256,
                                 ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                 rope_max_seq_len=32, image_dim=image_dim).eval()


def wan21_i2v_components(seed: int = 0) -> dict[str, Any]:
    """Wan 2.1 I2V: UMT5 text encoder, CLIP image encoder, one transformer."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    _seed(seed)
    vae = _wan_vae()
    _seed(seed)
    text_encoder = _t5("umt5")
    _seed(seed)
    transformer = _wan_transformer(image_dim=4)
    _seed(seed)
    image_encoder = CLIPVisionModel(CLIPVisionConfig(hidden_size=4, projection_dim=4, num_hidden_layers=2,
                                                     num_attention_heads=2, image_size=32, intermediate_size=16,
                                                     patch_size=1)).eval()
    return {"transformer": transformer, "vae": vae, "scheduler": FlowMatchEulerDiscreteScheduler(shift=3.0),
            "text_encoder": text_encoder, "tokenizer": word_tokenizer(), "image_encoder": image_encoder,
            "image_processor": CLIPImageProcessor(crop_size=32, size=32), "transformer_2": None}


def wan22_i2v_a14b_components(seed: int = 0, boundary_ratio: float = 0.9) -> dict[str, Any]:
    """Wan 2.2 I2V A14B: two experts (high-noise ``transformer``, low-noise ``transformer_2``)."""
    from diffusers import UniPCMultistepScheduler

    _seed(seed)
    vae = _wan_vae()
    _seed(seed)
    text_encoder = _t5("umt5")
    _seed(seed)
    transformer = _wan_transformer()
    _seed(seed + 1)
    transformer_2 = _wan_transformer()
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    return {"transformer": transformer, "transformer_2": transformer_2, "vae": vae, "scheduler": scheduler,
            "text_encoder": text_encoder, "tokenizer": word_tokenizer(), "image_encoder": None,
            "image_processor": None, "boundary_ratio": boundary_ratio}


def wan22_ti2v_5b_components(seed: int = 0) -> dict[str, Any]:
    """Wan 2.2 TI2V-5B: one transformer, z_dim 48 VAE, ``expand_timesteps=True``."""
    from diffusers import UniPCMultistepScheduler

    _seed(seed)
    vae = _wan_vae(five_b=True)
    _seed(seed)
    text_encoder = _t5("umt5")
    _seed(seed)
    transformer = _wan_transformer(in_channels=48, out_channels=48)
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0)
    return {"transformer": transformer, "transformer_2": None, "vae": vae, "scheduler": scheduler,
            "text_encoder": text_encoder, "tokenizer": word_tokenizer(), "image_encoder": None,
            "image_processor": None, "boundary_ratio": None, "expand_timesteps": True}


# -- CogVideoX ---------------------------------------------------------------------------------
def cogvideox_i2v_components(seed: int = 0) -> dict[str, Any]:
    """CogVideoX 1.5 I2V layout (rotary embeddings, temporal patches of 2): any size that is a
    multiple of 16, 4k+1 frames. (CogVideoX 1.0 I2V has learned positional embeddings and
    a fixed 480x720 size.)"""
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDPMScheduler, CogVideoXTransformer3DModel

    _seed(seed)
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=2, attention_head_dim=16, in_channels=8, out_channels=4, time_embed_dim=2,
        text_embed_dim=32, num_layers=1, sample_width=8, sample_height=8, sample_frames=9, patch_size=2,
        patch_size_t=2, temporal_compression_ratio=4, max_text_seq_length=16, use_rotary_positional_embeddings=True,
        use_learned_positional_embeddings=False, ofs_embed_dim=2, patch_bias=False).eval()
    _seed(seed)
    blocks = ("CogVideoXDownBlock3D",) * 4
    vae = AutoencoderKLCogVideoX(in_channels=3, out_channels=3, down_block_types=blocks,
                                 up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8),
                                 latent_channels=4, layers_per_block=1, norm_num_groups=2,
                                 temporal_compression_ratio=4).eval()
    _seed(seed)
    text_encoder = _t5("t5")
    scheduler = CogVideoXDPMScheduler(snr_shift_scale=1.0, timestep_spacing="trailing", prediction_type="v_prediction",
                                      rescale_betas_zero_snr=True, beta_schedule="scaled_linear",
                                      beta_start=0.00085, beta_end=0.012, clip_sample=False, set_alpha_to_one=True)
    return {"transformer": transformer, "vae": vae, "scheduler": scheduler, "text_encoder": text_encoder,
            "tokenizer": word_tokenizer()}


# -- LTX-Video ---------------------------------------------------------------------------------
def ltx_video_i2v_components(seed: int = 0) -> dict[str, Any]:
    """LTX-Video I2V: sizes multiple of 32, 8k+1 frames."""
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXVideoTransformer3DModel

    _seed(seed)
    transformer = LTXVideoTransformer3DModel(in_channels=8, out_channels=8, patch_size=1, patch_size_t=1,
                                             num_attention_heads=4, attention_head_dim=8, cross_attention_dim=32,
                                             num_layers=1, caption_channels=32).eval()
    _seed(seed)
    vae = AutoencoderKLLTXVideo(
        in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1), spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False), decoder_inject_noise=(False,) * 5,
        upsample_residual=(False,) * 4, upsample_factor=(1, 1, 1, 1), timestep_conditioning=False, patch_size=1,
        patch_size_t=1, encoder_causal=True, decoder_causal=False).eval()
    vae.use_framewise_encoding = False
    vae.use_framewise_decoding = False
    _seed(seed)
    text_encoder = _t5("t5")
    return {"transformer": transformer, "vae": vae, "scheduler": FlowMatchEulerDiscreteScheduler(),
            "text_encoder": text_encoder, "tokenizer": word_tokenizer()}


# -- HunyuanVideo ------------------------------------------------------------------------------
def hunyuanvideo_i2v_components(seed: int = 0) -> dict[str, Any]:
    """HunyuanVideo I2V: a Llava text+image encoder, a CLIP text encoder, latent-concat
    image conditioning. Use :data:`HUNYUAN_TINY_PROMPT_TEMPLATE` as the prompt template."""
    from diffusers import AutoencoderKLHunyuanVideo, FlowMatchEulerDiscreteScheduler, HunyuanVideoTransformer3DModel
    from transformers import (
        CLIPImageProcessor,
        CLIPTextConfig,
        CLIPTextModel,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
    )

    _seed(seed)
    transformer = HunyuanVideoTransformer3DModel(
        in_channels=2 * 4 + 1, out_channels=4, num_attention_heads=2, attention_head_dim=10, num_layers=1,
        num_single_layers=1, num_refiner_layers=1, patch_size=1, patch_size_t=1, guidance_embeds=False,
        text_embed_dim=16, pooled_projection_dim=8, rope_axes_dim=(2, 4, 4),
        image_condition_type="latent_concat").eval()
    _seed(seed)
    vae = AutoencoderKLHunyuanVideo(
        in_channels=3, out_channels=3, latent_channels=4, down_block_types=("HunyuanVideoDownBlock3D",) * 4,
        up_block_types=("HunyuanVideoUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), layers_per_block=1,
        act_fn="silu", norm_num_groups=4, scaling_factor=0.476986, spatial_compression_ratio=8,
        temporal_compression_ratio=4, mid_block_add_attention=True).eval()
    pad_id = 0
    text_config = LlamaConfig(bos_token_id=1, eos_token_id=1, hidden_size=16, intermediate_size=37,
                              layer_norm_eps=1e-05, num_attention_heads=4, num_hidden_layers=2, pad_token_id=pad_id,
                              vocab_size=128, hidden_act="gelu")
    vision_config = CLIPVisionConfig(hidden_size=8, intermediate_size=37, projection_dim=32, num_attention_heads=4,
                                     num_hidden_layers=2, image_size=224)
    llava_config = LlavaConfig(vision_config=vision_config, text_config=text_config, pad_token_id=pad_id,
                               image_token_index=101)
    _seed(seed)
    text_encoder = LlavaForConditionalGeneration(llava_config).eval()
    _seed(seed)
    text_encoder_2 = CLIPTextModel(CLIPTextConfig(bos_token_id=1, eos_token_id=1, hidden_size=8,
                                                  intermediate_size=37, layer_norm_eps=1e-05, num_attention_heads=4,
                                                  num_hidden_layers=2, pad_token_id=pad_id, vocab_size=64,
                                                  hidden_act="gelu", projection_dim=32)).eval()
    image_processor = CLIPImageProcessor(crop_size=224, do_center_crop=True, do_normalize=True, do_resize=True,
                                         image_mean=[0.48145466, 0.4578275, 0.40821073],
                                         image_std=[0.26862954, 0.26130258, 0.27577711], resample=3, size=224)
    return {"transformer": transformer, "vae": vae, "scheduler": FlowMatchEulerDiscreteScheduler(shift=7.0),
            "text_encoder": text_encoder, "text_encoder_2": text_encoder_2,
            "tokenizer": word_tokenizer(pad_id=pad_id), "tokenizer_2": word_tokenizer(pad_id=pad_id,
                                                                                     model_max_length=77),
            "image_processor": image_processor}


# -- Stable Video Diffusion --------------------------------------------------------------------
def svd_components(seed: int = 0) -> dict[str, Any]:
    """Stable Video Diffusion: image-only conditioning (CLIP image encoder), no text."""
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, UNetSpatioTemporalConditionModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    _seed(seed)
    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=8, out_channels=4,
        down_block_types=("DownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal"),
        up_block_types=("CrossAttnUpBlockSpatioTemporal", "UpBlockSpatioTemporal"), cross_attention_dim=32,
        num_attention_heads=8, projection_class_embeddings_input_dim=96, addition_time_embed_dim=32).eval()
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       interpolation_type="linear", num_train_timesteps=1000,
                                       prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002,
                                       steps_offset=1, timestep_spacing="leading", timestep_type="continuous",
                                       use_karras_sigmas=True)
    _seed(seed)
    vae = AutoencoderKLTemporalDecoder(block_out_channels=[32, 32, 32], in_channels=3, out_channels=3,
                                       down_block_types=["DownEncoderBlock2D"] * 3, layers_per_block=1,
                                       latent_channels=4).eval()
    _seed(seed)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=32, num_hidden_layers=2, num_attention_heads=4, image_size=224,
        intermediate_size=37, patch_size=32)).eval()
    return {"unet": unet, "image_encoder": image_encoder, "scheduler": scheduler, "vae": vae,
            "feature_extractor": CLIPImageProcessor(crop_size=32, size=32)}


_BUILDERS = {
    "wan2.1-i2v": wan21_i2v_components,
    "wan2.2-i2v-a14b": wan22_i2v_a14b_components,
    "wan2.2-ti2v-5b": wan22_ti2v_5b_components,
    "cogvideox-i2v": cogvideox_i2v_components,
    "ltx-video-i2v": ltx_video_i2v_components,
    "hunyuanvideo-i2v": hunyuanvideo_i2v_components,
    "svd": svd_components,
}

#: Adapter options that suit the tiny models (short text, few steps).
TINY_OPTIONS: dict[str, dict[str, Any]] = {
    "wan2.1-i2v": {"max_sequence_length": 16},
    "wan2.2-i2v-a14b": {"max_sequence_length": 16},
    "wan2.2-ti2v-5b": {"max_sequence_length": 16},
    "cogvideox-i2v": {"max_sequence_length": 16},
    "ltx-video-i2v": {"max_sequence_length": 16},
    "hunyuanvideo-i2v": {"max_sequence_length": 64, "prompt_template": HUNYUAN_TINY_PROMPT_TEMPLATE},
    "svd": {"decode_chunk_size": 8},
}


def dummy_components(family: str, seed: int = 0) -> dict[str, Any]:
    """The tiny random-weight pipeline components of ``family`` (a registered generator name)."""
    if family not in _BUILDERS:
        raise KeyError(f"unknown diffusers family {family!r}; choose from {', '.join(FAMILIES)}")
    return _BUILDERS[family](seed)


def dummy_pipeline(family: str, seed: int = 0) -> Any:
    """The family's diffusers pipeline built from :func:`dummy_components`."""
    from spiral.registry import load_class

    cls = load_class("generator", family)
    return cls.pipeline_from_components(dummy_components(family, seed))


def dummy_generator(family: str, seed: int = 0, **options: Any) -> Any:
    """The ``family`` adapter on a tiny random pipeline (options: the adapter's ``Config``
    keys; tiny-model defaults such as a short ``max_sequence_length`` are filled in)."""
    from spiral.registry import load_class

    cls = load_class("generator", family)
    opts = {"steps": 2, "device": "cpu", "dtype": "fp32", **TINY_OPTIONS[family], **options}
    return cls(pipeline=dummy_pipeline(family, seed), config=cls.Config(**opts))
